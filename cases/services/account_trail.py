"""The account trail: every change to a staff account or its API tokens, with who made it.

`record` is called by the service functions that make the change (users.py, sessions.py),
inside their unit of work: the change and its trace commit together or not at all. `AccountTrail`
reads it back for the users page and `kefu user history`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.domain.account_events import AccountAction
from cases.store.db import Database
from cases.store.models import AccountEvent
from cases.store.models.base import clip

LATEST = 50


@dataclass(frozen=True, slots=True)
class TrailEntry:
    at: datetime
    actor: str
    action: AccountAction
    username: str
    detail: str


def record(s: AsyncSession, at: datetime, actor: str, action: AccountAction, username: str, detail: str = "") -> None:
    s.add(
        AccountEvent(
            at=at,
            actor=clip(AccountEvent.actor, actor),
            action=action,
            username=username,
            detail=clip(AccountEvent.detail, detail),
        )
    )


class AccountTrail:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def latest(self, username: str | None = None, limit: int = LATEST) -> list[TrailEntry]:
        """Newest first: every account's, or one account's."""
        stmt = select(AccountEvent).order_by(AccountEvent.id.desc()).limit(limit)
        if username is not None:
            stmt = stmt.where(AccountEvent.username == username)
        async with self.db.reader() as s:
            rows = (await s.execute(stmt)).scalars()
            return [TrailEntry(r.at, r.actor, r.action, r.username, r.detail) for r in rows]
