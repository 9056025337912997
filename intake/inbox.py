"""The inbox: raw input is committed here before any channel acknowledges it.

Group commit: concurrent SMTP sessions (or IMAP fetches, webhook calls) hand their raw bytes
to one writer task, which stores a batch in one transaction and one fsync, then releases
every waiting sender at once. Each sender still gets its answer only after its own row is on
disk, and a failed commit fails every sender of that batch (they answer 451 and retry).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import insert

from cases.domain.clock import Clock
from cases.domain.enums import Channel
from cases.domain.meter import NO_METER, Meter, Tally
from cases.store.db import Database
from cases.store.faults import is_transient
from cases.store.models import InboundMessage, InboundRaw, InboundStatus
from cases.store.models.base import clip
from cases.store.upsert import insert_or_skip

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RawInput:
    channel: Channel
    dedupe_key: str
    raw: bytes
    message_id: str | None = None
    envelope_from: str = ""
    envelope_to: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Stored:
    inbound_id: int | None  # None: the same input was stored before (a retry); still acknowledged
    duplicate: bool


@dataclass(slots=True)
class _Pending:
    item: RawInput
    future: asyncio.Future[Stored] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


def _text(value: str) -> str:
    """An envelope value as text PostgreSQL can keep: no NUL (SMTP puts none there, a
    hostile client may)."""
    return value.replace("\x00", "")


def envelope_values(message_id: str | None, envelope_from: str) -> dict[str, str | None]:
    """An inbound row's Message-ID and envelope sender as its columns keep them: no NUL, cut
    to length (every writer of inbound rows uses this)."""
    return {
        "message_id": clip(InboundMessage.message_id, _text(message_id)) if message_id else None,
        "envelope_from": clip(InboundMessage.envelope_from, _text(envelope_from)),
    }


class Inbox:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        on_stored: Callable[[], None] = lambda: None,
        max_batch: int = 200,
        meter: Meter = NO_METER,
    ) -> None:
        self.db = db
        self.meter = meter
        self.clock = clock
        self.on_stored = on_stored
        self.max_batch = max_batch
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._writer(), name="inbox-writer")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        while not self._queue.empty():  # senders still waiting get a temporary error
            pending = self._queue.get_nowait()
            if not pending.future.done():
                pending.future.set_exception(RuntimeError("kefu is shutting down"))

    async def put(self, item: RawInput) -> Stored:
        """Returns once the raw input is committed; raises if it could not be stored."""
        if self._task is None:
            return (await self._store_batch([_Pending(item)]))[0]
        pending = _Pending(item)
        await self._queue.put(pending)
        return await pending.future

    async def put_refused(self, item: RawInput, reason: str) -> int:
        """Keep an input the database refused (again and again) as a quarantined row with the
        reason and its raw bytes as they came: visible beside the other quarantined mail and
        re-run like it (`MailProcessor.rerun`). Returns its id."""
        async with self.db.unit_of_work() as session:
            conn = await session.connection()
            row_id: int = (
                await conn.execute(
                    insert(InboundMessage).returning(InboundMessage.id),
                    [
                        dict(
                            channel=item.channel,
                            dedupe_key=f"refused:{item.dedupe_key}"[:600],
                            **envelope_values(item.message_id, item.envelope_from),
                            envelope_to=[_text(address) for address in item.envelope_to],
                            size=len(item.raw),
                            received_at=self.clock(),
                            status=InboundStatus.QUARANTINED,
                            reason=reason[:4000],
                            attempts=0,
                            rule_hits=[],
                        )
                    ],
                )
            ).scalar_one()
            await conn.execute(insert(InboundRaw), [{"inbound_id": row_id, "raw": item.raw}])
        return row_id

    async def _writer(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self.max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                results = await self._store_batch(batch)
            except Exception as exc:
                if is_transient(exc) or self.db.health.down:
                    self.db.health.failed(exc, "inbox")  # once for the outage, not per batch
                else:
                    log.exception("inbox: could not store %d message(s) together", len(batch))
                if not await self._store_alone(batch, exc):  # the database is away: every sender retries
                    await asyncio.sleep(0.2)
                continue
            for p, result in zip(batch, results, strict=True):
                if not p.future.done():
                    p.future.set_result(result)

    async def _store_alone(self, batch: list[_Pending], error: Exception) -> bool:
        """After a failed batch, each input alone: one input the database refuses must not turn
        away the others of its batch (each sender gets its own answer). Two failures in a row
        mean the database is away; the rest fail at once. True when any input was stored."""
        stored, failed_in_a_row = False, 0
        for p in batch:
            if p.future.done():
                continue
            if failed_in_a_row >= 2 or len(batch) == 1:
                p.future.set_exception(error)
                continue
            try:
                result = (await self._store_batch([p]))[0]
            except Exception as exc:
                failed_in_a_row += 1
                if is_transient(exc):
                    p.future.set_exception(exc)
                    continue
                log.error(
                    "inbox: could not store a %s input of %d bytes alone either: %s: %s",
                    p.item.channel,
                    len(p.item.raw),
                    type(exc).__name__,
                    exc,
                )
                p.future.set_exception(exc)
                continue
            failed_in_a_row, stored = 0, True
            p.future.set_result(result)
        return stored

    async def _store_batch(self, batch: list[_Pending]) -> list[Stored]:
        """One multi-row ``INSERT ... ON CONFLICT DO NOTHING RETURNING``, the raw bytes of the
        rows it inserted, and one commit.

        Core on the connection, not the ORM: the raw rows need no identity map, and a
        statement per message cost more than the fsync of the whole batch."""
        now: datetime = self.clock()
        rows = [
            dict(
                channel=p.item.channel,
                dedupe_key=p.item.dedupe_key,
                **envelope_values(p.item.message_id, p.item.envelope_from),
                envelope_to=[_text(address) for address in p.item.envelope_to],
                size=len(p.item.raw),
                received_at=now,
                status=InboundStatus.PENDING,
                attempts=0,
                rule_hits=[],
            )
            for p in batch
        ]
        raw: dict[str, bytes] = {}
        for p in batch:
            raw.setdefault(p.item.dedupe_key, p.item.raw)
        async with self.db.unit_of_work() as session:
            conn = await session.connection()
            stmt = insert_or_skip(conn.dialect.name, InboundMessage, ["dedupe_key"]).returning(
                InboundMessage.id, InboundMessage.dedupe_key
            )
            stored = {key: row_id for row_id, key in (await conn.execute(stmt, rows)).all()}
            if stored:
                await conn.execute(
                    insert(InboundRaw), [{"inbound_id": row_id, "raw": raw[key]} for key, row_id in stored.items()]
                )
        results: list[Stored] = []
        for p in batch:
            # The first of two identical inputs in one batch gets the row; the second is a duplicate.
            row_id = stored.pop(p.item.dedupe_key, None)
            results.append(Stored(row_id, row_id is None))
        self.db.health.ok()
        duplicates = sum(r.duplicate for r in results)
        self.meter.count(Tally.MAIL_DUPLICATE, duplicates)
        self.meter.count(Tally.MAIL_STORED, len(results) - duplicates)
        if duplicates < len(results):
            self.on_stored()
        return results
