"""On-site service and its report (procedure 6.2.7, 6.4, 6.3.6; record DFCPZL063A).

A request gets a plan and a dispatch (who goes, when, where, with what) and a record number;
after the visit the engineer files the report; the management representative reviews it,
which asks the customer's representative to confirm satisfaction on the report. The request
goes out with its own Message-ID (kept on the report): a reply that answers it confirms the
report, not the case (cases/quality/confirmation.py). Or staff record a confirmation given on
paper, with the scan. The steps are the table in cases/quality/service_states.py.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.domain.actors import Actor
from cases.domain.clock import Clock
from cases.domain.enums import Satisfaction
from cases.domain.errors import Forbidden, InvalidInput, NotFound
from cases.domain.events import EventKind
from cases.domain.intake_message import Attachment
from cases.domain.tokens import Signer
from cases.field.records import feed_service_report
from cases.quality import failure_modes
from cases.quality.files import store_file
from cases.quality.service_states import PLANNERS, ReportAction, ReportState, check
from cases.services.records import _advance, emit, locked_case, record_history
from cases.store.db import Database
from cases.store.models import Case, ServiceReport

log = logging.getLogger(__name__)

MAX_TEXT = 20000
MAX_MINUTES = 60 * 24 * 60  # sixty days on site is a typing mistake


@dataclass(frozen=True, slots=True)
class ReportInput:
    work_done: str
    findings: str
    result: str
    minutes_spent: int
    parts_replaced: str = ""
    failure_mode: str | None = None


def _text(value: str | None, what: str, limit: int = MAX_TEXT, *, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise InvalidInput(f"{what} must not be empty", zh=f"{what} 不能为空")
    if len(value) > limit:
        raise InvalidInput(f"{what} is longer than {limit} characters", zh=f"{what} 超过 {limit} 个字符")
    return value


def parse_start(value: str, tz: ZoneInfo) -> datetime:
    """When the engineers go: a date (08:00 that day, local) or a time (local unless it says)."""
    raw = (value or "").strip()
    try:
        if len(raw) == 10:
            return datetime.combine(date.fromisoformat(raw), time(8, 0), tz).astimezone(ZoneInfo("UTC"))
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"the planned start is a date or a time like 2026-12-08T09:00+08:00, got {value!r}",
            zh=f"计划开始时间须为日期或时间，例如 2026-12-08T09:00+08:00，实际为 {value!r}",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    if not 2000 <= moment.year <= 2100:
        raise InvalidInput(
            f"the planned start must lie between 2000 and 2100, got {value!r}",
            zh=f"计划开始时间须在 2000 年至 2100 年之间，实际为 {value!r}",
        )
    return moment.astimezone(ZoneInfo("UTC"))


class ServiceReports:
    def __init__(self, db: Database, clock: Clock, signer: Signer, tz: ZoneInfo, prefix: str, mail_domain: str) -> None:
        self.db = db
        self.clock = clock
        self.signer = signer
        self.tz = tz
        self.prefix = prefix
        self.mail_domain = mail_domain

    async def plan(
        self, actor: Actor, reference: str, engineers: str, start: str, location: str, equipment: str, task: str
    ) -> ServiceReport:
        if not actor.roles & PLANNERS:
            raise Forbidden(
                f"planning on-site service needs the role {' or '.join(sorted(PLANNERS))}",
                zh=f"计划现场服务需要以下角色之一：{'、'.join(sorted(PLANNERS))}",
            )
        now = self.clock()
        values = {
            "engineers": _text(engineers, "who goes (the engineers)", 500),
            "planned_start": parse_start(start, self.tz),
            "location": _text(location, "where (the location)", 500),
            "equipment": _text(equipment, "with what (tools, parts)", required=False),
            "task": _text(task, "the task"),
        }
        async with self.db.unit_of_work() as s:
            case = await locked_case(s, reference)
            year = now.astimezone(self.tz).year
            number = await s.run_sync(lambda ss: _advance(ss.connection(), self.prefix[:10], year, 1))
            report = ServiceReport(
                case_id=case.id,
                record_number=f"{self.prefix}-{year}-{number:04d}",
                state=ReportState.PLANNED.value,
                planned_by=actor.label[:120],
                created_at=now,
                updated_at=now,
                **values,
            )
            s.add(report)
            await s.flush()
            record_history(s, case=case, at=now, actor=actor, action="service_planned", note=report.record_number)
            emit(s, EventKind.SERVICE_PLANNED, case, now, details=_details(report, self.tz))
        log.info("%s: on-site service %s planned by %s", case.reference, report.record_number, actor.label)
        return report

    async def file_report(self, actor: Actor, reference: str, report_id: int, r: ReportInput) -> ServiceReport:
        values = {
            "work_done": _text(r.work_done, "what was done"),
            "findings": _text(r.findings, "the findings"),
            "parts_replaced": _text(r.parts_replaced, "the parts replaced", required=False),
            "result": _text(r.result, "the result"),
            "minutes_spent": r.minutes_spent,
            "failure_mode": _text(r.failure_mode, "the failure mode code", 40, required=False) or None,
        }
        if not 1 <= r.minutes_spent <= MAX_MINUTES:
            raise InvalidInput(
                f"the time spent is between 1 and {MAX_MINUTES} minutes", zh=f"服务用时须在 1 至 {MAX_MINUTES} 分钟之间"
            )
        return await self._step(actor, reference, report_id, ReportAction.FILE, values, EventKind.SERVICE_REPORTED)

    async def review(self, actor: Actor, reference: str, report_id: int, note: str) -> ServiceReport:
        note = _text(note, "the review note", 4000, required=False)
        return await self._step(actor, reference, report_id, ReportAction.REVIEW, {"review_note": note})

    async def confirm_on_paper(
        self, actor: Actor, reference: str, report_id: int, confirmed_by: str, rating: str, note: str, scan: Attachment
    ) -> ServiceReport:
        try:
            rated = Satisfaction(rating)
        except ValueError:
            rated = None
        if rated not in (Satisfaction.SATISFIED, Satisfaction.NEUTRAL, Satisfaction.UNSATISFIED):
            raise InvalidInput(
                f"the rating is one of satisfied, neutral, unsatisfied; got {rating!r}",
                zh=f"评价须为 satisfied（满意）、neutral（一般）或 unsatisfied（不满意）之一，实际为 {rating!r}",
            )
        values = {
            "confirmed_by": _text(confirmed_by, "who confirmed (the customer's representative)", 254),
            "confirmation_text": _text(note, "the note", 4000, required=False),
        }
        action = ReportAction.CONFIRM_ON_PAPER if rated is not Satisfaction.UNSATISFIED else ReportAction.DISPUTE
        return await self._step(actor, reference, report_id, action, values, rating=rated, scan=scan)

    async def _step(
        self,
        actor: Actor,
        reference: str,
        report_id: int,
        action: ReportAction,
        values: dict[str, Any],
        event: EventKind | None = None,
        *,
        rating: Satisfaction | None = None,
        scan: Attachment | None = None,
    ) -> ServiceReport:
        now = self.clock()
        async with self.db.unit_of_work() as s:
            case = await locked_case(s, reference)
            report = await _report(s, case, report_id)
            if scan is not None:
                check(action, report.state, actor)  # before the file is stored
                await store_file(s, actor, case.id, scan, "confirmation_scan", now, service_report_id=report.id)
                values.update(confirmed_how="paper", recorded_by=actor.label[:120])
            if action is ReportAction.FILE:
                values.update(reported_by=actor.label[:120], reported_at=now)
                if values["failure_mode"]:  # one of the managed list, as the reports count them
                    values["failure_mode"] = await failure_modes.known(s, values["failure_mode"])
            elif action is ReportAction.REVIEW:
                values.update(reviewed_by=actor.label[:120], reviewed_at=now)
                values.update(confirmation_requested_at=now, confirmation_message_id=self._message_id(case, report))
            apply_report_step(s, case, report, action, actor, now, values, rating)
            if action is ReportAction.FILE:
                await feed_service_report(s, report, case, self.tz, now)  # parts replaced: a field failure
            if action is ReportAction.REVIEW:
                emit(
                    s,
                    EventKind.SERVICE_CONFIRMATION_REQUESTED,
                    case,
                    now,
                    details=_details(report, self.tz),
                    message_id=report.confirmation_message_id,
                    reply_token=self.signer.report_token(case.reference, report.id),
                )
            elif event is not None:
                emit(s, event, case, now, details=_details(report, self.tz))
        return report

    def _message_id(self, case: Case, report: ServiceReport) -> str:
        """The request's own Message-ID: `kefu.<case token>.sr<id>-<random>@domain`, so that a
        reply that keeps only it still finds the case (tokens.reference_from_message_id)."""
        return f"kefu.{self.signer.case_token(case.reference)}.sr{report.id}-{secrets.token_hex(6)}@{self.mail_domain}"


def apply_report_step(
    s: AsyncSession,
    case: Case,
    report: ServiceReport,
    action: ReportAction,
    actor: Actor,
    now: datetime,
    values: dict[str, Any],
    rating: Satisfaction | None = None,
) -> None:
    """Check the report's table, change it, append the case history and tell who must know."""
    transition = check(action, report.state, actor)
    before = report.state
    if action in (ReportAction.CONFIRM_BY_REPLY, ReportAction.CONFIRM_ON_PAPER, ReportAction.DISPUTE):
        values.update(confirmed_at=now, confirmation_rating=rating.value if rating else None)
    for key, value in values.items():
        setattr(report, key, value)
    report.state, report.updated_at = transition.target.value, now
    case.updated_at = now
    record_history(
        s,
        case=case,
        at=now,
        actor=actor,
        action=f"service_{action.value}",
        changes={"service_report_state": [before, report.state]},
        note=report.record_number + (f": {rating.value}" if rating else ""),
    )
    if rating is not None:
        emit(
            s,
            EventKind.SERVICE_CONFIRMED,
            case,
            now,
            details={
                "record_number": report.record_number,
                "rating": rating.value,
                "how": report.confirmed_how or "",
                "confirmed_by": report.confirmed_by or "",
            },
        )
    log.info(
        "%s: service report %s %s by %s (%s -> %s)",
        case.reference,
        report.record_number,
        action.value,
        actor.label,
        before,
        report.state,
    )


def _details(report: ServiceReport, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "record_number": report.record_number,
        "engineers": report.engineers,
        "planned_start_local": report.planned_start.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
        "location": report.location,
        "task": report.task,
        "work_done": report.work_done or "",
        "findings": report.findings or "",
        "result": report.result or "",
    }


async def _report(s: AsyncSession, case: Case, report_id: int) -> ServiceReport:
    report = (
        await s.execute(select(ServiceReport).where(ServiceReport.id == report_id).with_for_update())
    ).scalar_one_or_none()
    if report is None or report.case_id != case.id:
        raise NotFound(
            f"the case {case.reference} has no service report #{report_id}",
            zh=f"案件 {case.reference} 没有服务报告 #{report_id}",
        )
    return report
