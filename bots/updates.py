"""The update store: every Bot API update is committed, keyed on its update_id, before it is
acknowledged (webhook 200, or the next getUpdates offset). Handling is a separate step that
leases pending rows; the same update delivered twice is stored and handled once."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cases.domain.clock import Clock
from cases.domain.meter import NO_METER, Meter, Tally
from cases.store.db import Database
from cases.store.faults import is_transient
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


def _small(chat_id: int | None) -> int | None:
    """A chat id that fits a BIGINT, or none (a forged update may carry anything)."""
    return chat_id if isinstance(chat_id, int) and -(2**63) <= chat_id < 2**63 else None


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
        self._refusals: dict[int, int] = {}  # update_id -> times the database refused it

    async def store(self, payloads: list[dict[str, Any]]) -> int:
        """Commit the updates; returns how many were new. Raises on a database failure (the
        updates are not acknowledged and come again).

        An update the database refuses for a reason of its own (not a lost connection) would
        come again forever and hold up every later one of its poll: it is stored alone, and
        after MAX_ATTEMPTS refusals set aside as a `failed` row that keeps its JSON as text
        and the reason, so that the channel goes on (issue 17, "Faults" 3). `rerun` puts it back."""
        try:
            return await self._store(payloads)
        except Exception as exc:
            if len(payloads) == 1 and not is_transient(exc) and await self.db.answers():
                return await self._refused(payloads[0], exc)
            if is_transient(exc) or not await self.db.answers():
                raise
        new = 0
        for payload in payloads:  # each alone: the refused one does not hold up the others
            new += await self.store([payload])
        return new

    async def _refused(self, payload: dict[str, Any], error: Exception) -> int:
        update_id = int(payload["update_id"])
        self._refusals[update_id] = tries = self._refusals.get(update_id, 0) + 1
        log.error(
            "telegram update %d refused by the database (%d of %d): %s: %s",
            update_id,
            tries,
            MAX_ATTEMPTS,
            type(error).__name__,
            str(error).splitlines()[0][:300] if str(error) else "",
        )
        if tries < MAX_ATTEMPTS:
            raise error
        async with self.db.unit_of_work() as s:
            await insert_ignore(
                s,
                TelegramUpdate,
                {
                    "update_id": update_id,
                    # ASCII JSON as text: whatever the database refused in it is escaped now.
                    "payload": {"update_id": update_id, "refused": json.dumps(payload, ensure_ascii=True)[:1_000_000]},
                    "chat_id": _small(chat_of(payload)),
                    "received_at": self.clock(),
                    "status": UpdateStatus.FAILED,
                    "attempts": tries,
                    "error": f"not stored: {type(error).__name__}: {error}"[:2000],
                },
                ["update_id"],
            )
        self._refusals.pop(update_id, None)
        log.error("telegram update %d set aside (failed); the next updates go on", update_id)
        self.meter.count(Tally.TELEGRAM_UPDATE, outcome="failed")
        return 0

    async def rerun(self, update_id: int) -> None:
        """Staff put a failed update back (after a fix): handled again, a set-aside one stored
        from its kept JSON first."""
        from cases.domain.errors import Conflict, NotFound

        async with self.db.unit_of_work() as s:
            row = await s.get(TelegramUpdate, update_id, with_for_update=True)
            if row is None:
                raise NotFound(f"no telegram update #{update_id}", zh=f"Telegram 更新 #{update_id} 不存在")
            if row.status != UpdateStatus.FAILED:
                raise Conflict(
                    f"telegram update #{update_id} is {row.status}, not failed",
                    zh=f"Telegram 更新 #{update_id} 的状态为 {row.status}，不是处理失败",
                )
            kept = row.payload.get("refused")
            if isinstance(kept, str):
                row.payload = _without_nul(json.loads(kept))
            row.status, row.attempts, row.error, row.lease_until = UpdateStatus.PENDING, 0, None, None

    async def _store(self, payloads: list[dict[str, Any]]) -> int:
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
