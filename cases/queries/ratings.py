"""The satisfaction ratings of cases (``case_ratings``): every rating a case was given, kept
across reopens, and their average for reports."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.store.models import CaseRating, User


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")  # as case_views.iso


async def of_case(s: AsyncSession, case_id: int) -> list[dict[str, Any]]:
    rows = await s.execute(
        select(CaseRating, User.username)
        .outerjoin(User, User.id == CaseRating.recorded_by_user_id)
        .where(CaseRating.case_id == case_id)
        .order_by(CaseRating.at, CaseRating.id)
    )
    return [
        {
            "rating": r.rating,
            "score": r.score,
            "channel": r.channel,
            "source": r.source,
            "recorded_by": username,
            "matched": r.matched,
            "note": r.note,
            "at": _iso(r.at),
        }
        for r, username in rows.all()
    ]


async def average_score(s: AsyncSession, since: datetime | None = None, until: datetime | None = None) -> float | None:
    """The mean score of every rating given in [since, until): each answer counts, also the
    不满意 of a case that was later closed satisfied."""
    stmt = select(func.avg(CaseRating.score)).where(CaseRating.score.is_not(None))
    if since is not None:
        stmt = stmt.where(CaseRating.at >= since)
    if until is not None:
        stmt = stmt.where(CaseRating.at < until)
    value = (await s.execute(stmt)).scalar_one_or_none()
    return None if value is None else float(value)
