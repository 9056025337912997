"""The customer's deadline: set by the people who agree it, watched by a timer.

Procedure 6.2.8: when the customer asks for corrective and preventive actions, they are
submitted "within the customer's deadline". Staff record the deadline (on approval or later);
the timer tells the department and Sales once when it is near (KEFU_DEADLINE_WARNING_HOURS),
and once more, with the approvers, when it has passed and Sales has not yet answered.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.domain.actors import SYSTEM, Actor
from cases.domain.clock import Clock
from cases.domain.errors import Forbidden, IllegalTransition, InvalidInput
from cases.domain.events import EventKind
from cases.domain.states import DEADLINE_RUNS, DEADLINE_SETTERS
from cases.services.records import emit, locked_case, record_history
from cases.store.db import Database
from cases.store.models import Case

log = logging.getLogger(__name__)

_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_deadline(value: str, tz: ZoneInfo, now: datetime) -> datetime:
    """ "2026-12-15" is the end of that day where the staff are; a time without an offset is
    theirs too; the result is aware UTC and must lie ahead."""
    value = (value or "").strip()
    try:
        if _DATE_ONLY.fullmatch(value):
            moment = datetime.combine(date.fromisoformat(value), time(23, 59, 59), tz)
        else:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=tz)
    except ValueError:
        raise InvalidInput(
            f"the deadline must be a date like 2026-12-15 or a time like 2026-12-15T17:00+08:00, got {value!r}",
            zh=f"期限须为日期（例如 2026-12-15）或时间（例如 2026-12-15T17:00+08:00），实际为 {value!r}",
        ) from None
    if moment <= now:
        raise InvalidInput(f"the deadline {value} has already passed", zh=f"期限 {value} 已过")
    return moment.astimezone(ZoneInfo("UTC"))


class Deadlines:
    def __init__(
        self, db: Database, clock: Clock, tz: ZoneInfo, warning_hours: float, on_commit: Callable[[], None]
    ) -> None:
        self.db = db
        self.clock = clock
        self.tz = tz
        self.warning = timedelta(hours=warning_hours)
        self._on_commit = on_commit

    async def set(
        self,
        actor: Actor,
        reference: str,
        value: str,
        note: str = "",
        then: Callable[[AsyncSession, Case], Awaitable[None]] | None = None,
    ) -> Case:
        """`then` runs in the same unit of work after the change (the agreed steps re-planned)."""
        if not actor.roles & DEADLINE_SETTERS:
            needed = " or ".join(sorted(DEADLINE_SETTERS))
            raise Forbidden(
                f"setting the customer's deadline needs the role {needed}",
                zh=f"设置客户要求的期限需要以下角色之一：{'、'.join(sorted(DEADLINE_SETTERS))}",
            )
        now = self.clock()
        deadline = parse_deadline(value, self.tz, now)
        async with self.db.unit_of_work() as s:
            case = await locked_case(s, reference)
            if case.state not in DEADLINE_RUNS:
                raise IllegalTransition(
                    f"a case in state '{case.state}' has been answered; its deadline no longer runs",
                    zh=f"案件状态为“{case.state}”，已答复客户；其期限不再计算",
                )
            self.apply(s, case, deadline, actor, now, note)
            if then is not None:
                await then(s, case)
        self._on_commit()
        return case

    def apply(self, s, case: Case, deadline: datetime, actor: Actor, now: datetime, note: str = "") -> None:  # type: ignore[no-untyped-def]
        """Within the caller's unit of work (approval sets it in the same step)."""
        before = case.customer_deadline
        case.customer_deadline, case.deadline_warned_at, case.deadline_overdue_at = deadline, None, None
        case.updated_at = now
        record_history(
            s,
            case=case,
            at=now,
            actor=actor,
            action="set_deadline",
            note=note[:500],
            changes={"customer_deadline": [before.isoformat() if before else None, deadline.isoformat()]},
        )
        emit(s, EventKind.DEADLINE_SET, case, now, deadline=deadline.isoformat())
        log.info("%s: customer deadline %s set by %s", case.reference, deadline.isoformat(), actor.label)

    async def run_timers(self) -> tuple[int, int]:
        """Tell of deadlines near and passed, each once per deadline. Returns (near, passed)."""
        now = self.clock()
        near = passed = 0
        async with self.db.unit_of_work() as s:
            due = (
                (
                    await s.execute(
                        select(Case)
                        .where(
                            Case.state.in_(DEADLINE_RUNS),
                            Case.customer_deadline.is_not(None),
                            or_(
                                and_(Case.deadline_overdue_at.is_(None), Case.customer_deadline <= now),
                                and_(Case.deadline_warned_at.is_(None), Case.customer_deadline <= now + self.warning),
                            ),
                        )
                        .order_by(Case.id)
                        .with_for_update(skip_locked=True)
                    )
                )
                .scalars()
                .all()
            )
            for case in due:
                assert case.customer_deadline is not None
                if case.customer_deadline <= now:
                    case.deadline_overdue_at = now
                    case.deadline_warned_at = case.deadline_warned_at or now
                    record_history(s, case=case, at=now, actor=SYSTEM, action="deadline_passed")
                    emit(s, EventKind.DEADLINE_PASSED, case, now)
                    passed += 1
                else:
                    case.deadline_warned_at = now
                    record_history(s, case=case, at=now, actor=SYSTEM, action="deadline_near")
                    emit(s, EventKind.DEADLINE_NEAR, case, now)
                    near += 1
        if near or passed:
            log.info("deadlines: %d near, %d passed", near, passed)
            self._on_commit()
        return near, passed
