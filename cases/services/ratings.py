"""A satisfaction rating as a step (procedure 6.3.6): the customer's answer by mail or chat, or
one a member of Sales took by phone or on site. The same rules either way: 满意 / 一般 (a
score of 3 or more) closes the case, 不满意 (1-2) reopens it for the department, and every
rating is kept with its score and the channel it came by (``case_ratings``), also after a
reopen, so that reports average what customers really said."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from cases.domain.actors import Actor
from cases.domain.enums import Satisfaction
from cases.domain.events import EventKind
from cases.domain.states import Action
from cases.services.records import apply_step, emit
from cases.store import rows
from cases.store.models import Case, CaseRating

# Who gave the rating -> the steps it takes (closing, reopening).
CUSTOMER_STEPS = (Action.RATE, Action.REOPEN)
STAFF_STEPS = (Action.RECORD_RATING, Action.RECORD_UNSATISFIED)


def keep(
    session: AsyncSession,
    case: Case,
    rating: Satisfaction,
    score: int | None,
    now: datetime,
    *,
    channel: str,
    source: str,
    actor: Actor,
    matched: str = "",
    note: str = "",
) -> None:
    rows.append(
        session,
        CaseRating,
        dict(
            rating=rating,
            score=score,
            channel=channel,
            source=source,
            recorded_by_user_id=actor.user_id,
            matched=matched[:200],
            note=note,
            at=now,
        ),
        case_id=case,
    )


def rate(
    session: AsyncSession,
    case: Case,
    rating: Satisfaction,
    score: int | None,
    actor: Actor,
    now: datetime,
    *,
    channel: str,
    by_staff: bool,
    matched: str,
    text: str = "",
) -> None:
    """Close on 满意 / 一般, reopen on 不满意; keep the rating either way."""
    closing, reopening = STAFF_STEPS if by_staff else CUSTOMER_STEPS
    who = f"{actor.label} recorded {matched!r} given by {channel}" if by_staff else f"customer answered {matched!r}"
    if rating is Satisfaction.UNSATISFIED:
        apply_step(
            session,
            case,
            reopening,
            actor,
            now,
            {
                "rating": None,
                "rating_score": None,
                "satisfaction_requested_at": None,
                "reminder_sent_at": None,
                "closed_at": None,
                "reopen_count": case.reopen_count + 1,
            },
            note=who,
        )
        emit(session, EventKind.CASE_REOPENED, case, now, rating=rating.value, score=score, text=text[:2000])
    else:
        apply_step(
            session, case, closing, actor, now, {"rating": rating, "rating_score": score, "closed_at": now}, note=who
        )
        emit(session, EventKind.CASE_RATED, case, now, rating=rating.value, score=score)
    keep(
        session,
        case,
        rating,
        score,
        now,
        channel=channel,
        source="staff" if by_staff else "customer",
        actor=actor,
        matched=matched,
        note=text[:2000] if by_staff else "",
    )
