"""The customer's representative confirms satisfaction on a service report (6.3.6) by reply.

A reply confirms the report, not the case, when it answers the report's own request: its
In-Reply-To or References name the Message-ID that request went out with. Only the customer's
side reaches this (cases/services/receiving.py calls it after cases/services/speakers.py
decided who is speaking: a third party's reply joins the case and confirms nothing). The
answer is read like the case rating (cases/services/satisfaction.py): 满意 / 一般 confirm,
不满意 sends the report back to the engineer, anything unclear goes to a person.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.domain.actors import customer
from cases.domain.enums import Satisfaction
from cases.domain.events import EventKind
from cases.domain.intake_message import IntakeMessage
from cases.quality.service_report import apply_report_step
from cases.quality.service_states import ReportAction, ReportState
from cases.services.records import emit, record_history
from cases.services.satisfaction import parse_satisfaction
from cases.store.models import Case, ServiceReport

UNCLEAR = "unclear"


async def answer_to_report(session: AsyncSession, case: Case, msg: IntakeMessage, now: datetime) -> str | None:
    """The customer's answer on the report this message replies to: its rating, `unclear`, or
    None when it answers no report waiting for confirmation (then it is an ordinary message)."""
    ids = list(msg.hints.message_ids)
    if msg.is_automatic or not ids or case.id is None:
        return None
    report = (
        await session.execute(
            select(ServiceReport).where(
                ServiceReport.case_id == case.id,
                ServiceReport.confirmation_message_id.in_(ids),
                ServiceReport.state == ReportState.REVIEWED.value,
            )
        )
    ).scalar_one_or_none()
    if report is None:
        return None
    actor = customer(msg.sender_identity)
    text = msg.new_text or msg.text
    answer = parse_satisfaction(text)
    if answer.rating is None or answer.ambiguous:
        record_history(session, case=case, at=now, actor=actor, action="service_confirmation_unclear", note=text[:500])
        emit(session, EventKind.RATING_UNCLEAR, case, now, text=text[:2000])
        return UNCLEAR
    values = {
        "confirmed_by": (f"{msg.sender_name} <{msg.sender_identity}>" if msg.sender_name else msg.sender_identity)[
            :254
        ],
        "confirmed_how": "reply",
        "confirmation_text": text[:4000],
    }
    action = ReportAction.DISPUTE if answer.rating is Satisfaction.UNSATISFIED else ReportAction.CONFIRM_BY_REPLY
    apply_report_step(session, case, report, action, actor, now, values, answer.rating)
    return answer.rating.value
