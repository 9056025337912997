"""The update store: every Bot API update is committed, keyed on its update_id, before it is
acknowledged (webhook 200, or the next getUpdates offset). Handling is a separate step that
leases pending rows; the same update delivered twice is stored and handled once."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cases.domain.clock import Clock
from cases.domain.meter import NO_METER, Meter, Tally
from cases.store.db import Database
from cases.store.models import TelegramUpdate, UpdateStatus
from cases.store.upsert import insert_ignore

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 3


def chat_of(payload: dict[str, Any]) -> int | None:
    for key in ("message", "edited_message", "channel_post"):
        if isinstance(payload.get(key), dict):
            return payload[key].get("chat", {}).get("id")  # type: ignore[no-any-return]
    query = payload.get("callback_query")
    if isinstance(query, dict):
        chat: int | None = (query.get("message") or {}).get("chat", {}).get("id") or query.get("from", {}).get("id")
        return chat
    return None


def _without_nul(value: Any) -> Any:
    """The update as PostgreSQL can keep it as JSON: no NUL in any string (it refuses \\u0000,
    and Telegram would deliver the update again and again). A NUL carries nothing anyone wrote."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


class UpdateStore:
    def __init__(self, db: Database, clock: Clock, meter: Meter = NO_METER) -> None:
        self.db = db
        self.clock = clock
        self.meter = meter

    async def store(self, payloads: list[dict[str, Any]]) -> int:
        """Commit the updates; returns how many were new. Raises on a database failure."""
        new = 0
        async with self.db.unit_of_work() as s:
            for payload in map(_without_nul, payloads):
                update_id = int(payload["update_id"])
                inserted = await insert_ignore(
                    s,
                    TelegramUpdate,
                    {
                        "update_id": update_id,
                        "payload": payload,
                        "chat_id": chat_of(payload),
                        "received_at": self.clock(),
                        "status": UpdateStatus.PENDING,
                        "attempts": 0,
                    },
                    ["update_id"],
                    returning=TelegramUpdate.update_id,
                )
                if inserted is None:
                    log.info("telegram update %d: seen before, not handled again", update_id)
                else:
                    new += 1
        self.meter.count(Tally.TELEGRAM_UPDATE, new, outcome="stored")
        self.meter.count(Tally.TELEGRAM_UPDATE, len(payloads) - new, outcome="duplicate")
        return new

    async def lease(self, limit: int = 50) -> list[TelegramUpdate]:
        """Pending updates in update_id order (a chat's messages keep their order)."""
        now = self.clock()
        async with self.db.unit_of_work() as s:
            rows = list(
                (
                    await s.execute(
                        select(TelegramUpdate)
                        .where(
                            TelegramUpdate.status == UpdateStatus.PENDING,
                            or_(TelegramUpdate.lease_until.is_(None), TelegramUpdate.lease_until < now),
                        )
                        .order_by(TelegramUpdate.update_id)
                        .limit(limit)
                        .with_for_update(skip_locked=True)
                    )
                ).scalars()
            )
            if rows:
                await s.execute(
                    update(TelegramUpdate)
                    .where(TelegramUpdate.update_id.in_([r.update_id for r in rows]))
                    .values(lease_until=now + LEASE)
                )
        return rows

    async def processed(self, update_id: int) -> None:
        async with self.db.unit_of_work() as s:
            await mark_processed(s, update_id, self.clock())
        self.meter.count(Tally.TELEGRAM_UPDATE, outcome="handled")

    async def failed(self, row: TelegramUpdate, error: str) -> None:
        """Our fault: try again shortly, a few times; then keep it as failed with the error."""
        attempts = row.attempts + 1
        status = UpdateStatus.FAILED if attempts >= MAX_ATTEMPTS else UpdateStatus.PENDING
        now = self.clock()
        async with self.db.unit_of_work() as s:
            await s.execute(
                update(TelegramUpdate)
                .where(TelegramUpdate.update_id == row.update_id, TelegramUpdate.status == UpdateStatus.PENDING)
                .values(
                    attempts=attempts,
                    status=status,
                    error=error[:2000],
                    lease_until=now + timedelta(seconds=10 * attempts),
                )
            )
        self.meter.count(Tally.TELEGRAM_UPDATE, outcome="failed")


async def mark_processed(s: AsyncSession, update_id: int, now: datetime) -> None:
    """In the handler's own unit of work where it has effects: effect and mark commit together,
    so an update handled before a crash is not handled again after it."""
    await s.execute(
        update(TelegramUpdate)
        .where(TelegramUpdate.update_id == update_id, TelegramUpdate.status == UpdateStatus.PENDING)
        .values(status=UpdateStatus.PROCESSED, processed_at=now, lease_until=None)
    )
