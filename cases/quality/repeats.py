"""Repeats: a complaint with the same part number and failure mode as an open case, or one
closed within `KEFU_REPEAT_WINDOW_DAYS`, is linked to it and flagged on both (IATF 16949
§10.2.6: a repeat says the earlier corrective action did not hold)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.domain.actors import Actor
from cases.domain.enums import CaseState
from cases.domain.events import EventKind
from cases.services.records import emit, record_history
from cases.store.models import Case, CaseLink

log = logging.getLogger(__name__)
ENDED = (CaseState.CLOSED, CaseState.NO_ACTION)


async def link_repeats(s: AsyncSession, case: Case, actor: Actor, now: datetime, window_days: float) -> list[str]:
    """Link `case` to every earlier case it repeats (not yet linked); their references."""
    if not case.part_number or not case.failure_mode:
        return []
    since = now - timedelta(days=window_days)
    already = select(CaseLink.earlier_id).where(CaseLink.case_id == case.id)
    earlier = (
        await s.execute(
            select(Case)
            .where(
                Case.id != case.id,
                Case.received_at <= case.received_at,
                Case.part_number == case.part_number,
                Case.failure_mode == case.failure_mode,
                Case.id.not_in(already),
                or_(Case.state.not_in(ENDED), and_(Case.closed_at.is_not(None), Case.closed_at >= since)),
            )
            .order_by(Case.id)
        )
    ).scalars()
    found = []
    for other in earlier:
        s.add(
            CaseLink(
                case_id=case.id,
                earlier_id=other.id,
                part_number=case.part_number,
                failure_mode=case.failure_mode,
                found_at=now,
            )
        )
        note = f"repeat of {other.reference}: part {case.part_number}, failure mode {case.failure_mode}"
        record_history(s, case=case, at=now, actor=actor, action="repeat_linked", note=note)
        record_history(s, case=other, at=now, actor=actor, action="repeat_linked", note=f"repeated by {case.reference}")
        details = {"earlier": other.reference, "part_number": case.part_number, "failure_mode": case.failure_mode}
        emit(s, EventKind.REPEAT_FOUND, case, now, details=details)
        log.info("%s: repeat of %s (%s, %s)", case.reference, other.reference, case.part_number, case.failure_mode)
        found.append(other.reference)
    return found


async def links_of(s: AsyncSession, case_id: int) -> dict[str, list[dict[str, Any]]]:
    """What the case shows: the cases it repeats, and those that repeat it."""

    def rows(pairs: Any) -> list[dict[str, Any]]:
        return [{"reference": ref, "part_number": part, "failure_mode": mode} for ref, part, mode in pairs]

    repeats = await s.execute(
        select(Case.reference, CaseLink.part_number, CaseLink.failure_mode)
        .join(Case, Case.id == CaseLink.earlier_id)
        .where(CaseLink.case_id == case_id)
        .order_by(CaseLink.id)
    )
    repeated_by = await s.execute(
        select(Case.reference, CaseLink.part_number, CaseLink.failure_mode)
        .join(Case, Case.id == CaseLink.case_id)
        .where(CaseLink.earlier_id == case_id)
        .order_by(CaseLink.id)
    )
    return {"repeat_of": rows(repeats.all()), "repeated_by": rows(repeated_by.all())}
