"""The customer's representative confirms satisfaction on a service report (6.3.6) by reply.

A reply confirms the report, not the case, when it answers the report's own request: its
In-Reply-To or References name the Message-ID that request went out with, or it was sent to
the request's own reply address (a report token), or it is the report's Telegram button. Only the customer's
side reaches this (cases/services/receiving.py calls it after cases/services/speakers.py
decided who is speaking: a third party's reply joins the case and confirms nothing). The
answer is read like the case rating (cases/services/satisfaction.py): 满意 / 一般 confirm,
不满意 sends the report back to the engineer, anything unclear goes to a person.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.domain.actors import customer
from cases.domain.enums import Satisfaction
from cases.domain.events import EventKind
from cases.domain.intake_message import IntakeMessage
from cases.domain.tokens import Signer
from cases.quality.service_report import apply_report_step
from cases.quality.service_states import ReportAction, ReportState
from cases.services.records import emit, record_history
from cases.services.satisfaction import parse_satisfaction
from cases.store.models import Case, ServiceReport

UNCLEAR = "unclear"
_REQUEST_ID = re.compile(r"kefu\.[^.@]+\.[^.@]+\.sr[0-9]{1,18}-[0-9a-f]+@")
MAX_NAMED = 20  # a thread seldom holds more requests than this; the newest come first


def _named_report(msg: IntakeMessage, case: Case, signer: Signer) -> ColumnElement[bool] | None:
    """How the message names a report: the request's Message-ID in In-Reply-To/References,
    its reply-address token (`service+fb-2026-000123.sr42.<sig>@`), or the report's Telegram
    button. None: it names none."""
    named: list[ColumnElement[bool]] = []
    # Only ids shaped like a report's request (service_report.py, `_message_id`): a reply's
    # References may name thousands of ids, and most replies name no report at all (no query).
    ours = [mid for mid in msg.hints.message_ids if _REQUEST_ID.match(mid)][:MAX_NAMED]
    if ours:
        named.append(ServiceReport.confirmation_message_id.in_(ours))
    token = signer.verify_report_token(msg.hints.address_token) if msg.hints.address_token else None
    if token is not None and token[0] == case.reference:
        named.append(ServiceReport.id == token[1])
    if msg.hints.report_id is not None:
        named.append(ServiceReport.id == msg.hints.report_id)
    return or_(*named) if named else None


async def answer_to_report(
    session: AsyncSession, case: Case, msg: IntakeMessage, now: datetime, signer: Signer
) -> str | None:
    """The customer's answer on the report this message replies to: its rating, `unclear`, or
    None when it answers no report waiting for confirmation (then it is an ordinary message)."""
    named = _named_report(msg, case, signer)
    if msg.is_automatic or named is None or case.id is None:
        return None
    report = (
        await session.execute(
            select(ServiceReport)
            .where(ServiceReport.case_id == case.id, named, ServiceReport.state == ReportState.REVIEWED.value)
            .order_by(ServiceReport.id)
            .limit(1)
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
        "confirmed_how": "button" if msg.hints.report_id is not None else "reply",
        "confirmation_text": text[:4000],
    }
    action = ReportAction.DISPUTE if answer.rating is Satisfaction.UNSATISFIED else ReportAction.CONFIRM_BY_REPLY
    apply_report_step(session, case, report, action, actor, now, values, answer.rating)
    return answer.rating.value
