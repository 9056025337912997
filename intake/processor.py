"""The processor: stored raw mail -> parse -> rule chain -> IntakeMessage -> CaseService.

A separate, retryable step (intake rules). Rows are taken in batches, each batch in one
transaction that also marks the rows processed, so a crash re-runs the whole batch and opens
no case twice. A batch that fails is retried message by message, each with a bounded backoff
while the error is transient (a lost connection, a deadlock, a locked SQLite file:
cases/store/faults.py); a message that fails twice for a reason of its own while the
database answers is quarantined with the reason, where staff can list it and re-run it after a fix (Mailman's
shunt queue).
On PostgreSQL, ``FOR UPDATE SKIP LOCKED`` lets several instances share the work.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cases.archive.lookup import prefetch_contacts
from cases.domain.clock import Clock
from cases.domain.meter import NO_METER, Meter, Tally
from cases.services.case_service import CaseService
from cases.services.threads import prefetch_threads
from cases.services.wakeup import run_rounds
from cases.store.db import Database
from cases.store.faults import RepeatedFailure, is_transient, with_retries
from cases.store.models import Case, InboundMessage, InboundRaw, InboundStatus
from intake.parse_pool import ParsePool
from intake.prepare import Prepared, RawRow

log = logging.getLogger(__name__)

# While a batch is written, a next batch of fewer than half the batch size waits this long for
# more mail first: a steady stream otherwise becomes batches of a few mails, each paying the
# fixed cost of a batch (its queries, its commit, the trip to the parse workers).
GATHER_SECONDS = 0.05


@dataclass(frozen=True, slots=True)
class BatchResult:
    processed: int
    quarantined: int


@dataclass(frozen=True, slots=True)
class _Mark:
    """What becomes of one inbound row when its batch commits."""

    inbound_id: int
    attempts: int
    rule_hits: list[Any]
    status: InboundStatus
    reason: str | None
    case: Case | None = None

    @property
    def quarantined(self) -> int:
        return int(self.status is InboundStatus.QUARANTINED)


class MailProcessor:
    def __init__(
        self,
        db: Database,
        service: CaseService,
        clock: Clock,
        reference_prefix: str,
        batch_size: int = 100,
        poll_seconds: float = 5.0,
        pool: ParsePool | None = None,
        gather_seconds: float = GATHER_SECONDS,
        meter: Meter = NO_METER,
    ) -> None:
        self.db = db
        self.meter = meter
        self.service = service
        self.clock = clock
        self.prefix = reference_prefix
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.gather_seconds = gather_seconds
        self.pool = pool or ParsePool(0, reference_prefix)
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        await run_rounds(self.drain, self._wake, self.poll_seconds, "processor", self.db.health)

    async def drain(self) -> BatchResult:
        """Process until nothing is pending. Batches overlap: while one batch is written, the
        next one is parsed (and, if small, first waits gather_seconds for more mail)."""
        processed = quarantined = 0
        rows = await self._pending(self.batch_size)
        prepared = await self.pool.prepare(rows) if rows else []
        while prepared:
            following = await self._pending(self.batch_size, after=prepared[-1].inbound_id)
            parsing = asyncio.ensure_future(self._parse_next(following))
            # Let that task hand its batch to the workers now: on SQLite the write below runs its
            # statements inline and first yields at its commit, when the overlap would be gone.
            await asyncio.sleep(0)
            try:
                result = await self._write(prepared)
            except BaseException:
                parsing.cancel()
                raise
            processed, quarantined = processed + result.processed, quarantined + result.quarantined
            prepared = await parsing
        return BatchResult(processed, quarantined)

    async def _parse_next(self, rows: list[RawRow]) -> list[Prepared]:
        """Parse the next batch; a small one first takes the mail that comes within gather_seconds."""
        if 0 < len(rows) < self.batch_size // 2 and self.gather_seconds > 0:
            await asyncio.sleep(self.gather_seconds)
            rows += await self._pending(self.batch_size - len(rows), after=rows[-1].inbound_id)
        return await self.pool.prepare(rows) if rows else []

    async def process_batch(self) -> BatchResult:
        """One batch, not overlapped (tests that look at a single step)."""
        rows = await self._pending(self.batch_size)
        return await self._write(await self.pool.prepare(rows)) if rows else BatchResult(0, 0)

    async def _write(self, prepared: list[Prepared]) -> BatchResult:
        """Write a parsed batch in one transaction; on any failure, each message alone."""
        try:
            async with self.db.unit_of_work() as s:
                claimed = await self._claim(s, [p.inbound_id for p in prepared])
                mine = [p.message for p in prepared if p.message and p.inbound_id in claimed]
                # One statement for the whole batch's senders, a few for the cases its replies
                # name; the new cases' numbers come at the flush.
                await prefetch_contacts(s, [(m.channel, m.sender_identity) for m in mine])
                # (its own Message-ID too: a reused id joins the earlier message's case)
                await prefetch_threads(
                    s, [mid for m in mine for mid in (*m.hints.message_ids, *filter(None, [m.message_id]))]
                )
                marks = [
                    await self._apply(s, p, claimed[p.inbound_id]) for p in prepared if p.inbound_id in claimed
                ]  # else another instance took it
                await self._mark(s, marks)
        except Exception as exc:
            if is_transient(exc):  # the database's fault, not a message's: said once, not per batch
                self.db.health.failed(exc, "processor")
            else:
                log.exception("processor: batch rolled back; retrying each message alone")
            return self._counted(await self._one_by_one())
        self.db.health.ok()
        self.service.committed()
        return self._counted(BatchResult(len(marks), sum(m.quarantined for m in marks)))

    def _counted(self, result: BatchResult) -> BatchResult:
        self.meter.count(Tally.MAIL_PROCESSED, result.processed)
        self.meter.count(Tally.MAIL_QUARANTINED, result.quarantined)
        return result

    async def _pending(self, limit: int, after: int = 0) -> list[RawRow]:
        m = InboundMessage
        async with self.db.reader() as s:
            found = (
                await s.execute(
                    select(m.id, InboundRaw.raw, m.envelope_from, m.envelope_to, m.received_at)
                    .join(InboundRaw, InboundRaw.inbound_id == m.id)
                    .where(m.status == InboundStatus.PENDING, m.id > after)
                    .order_by(m.id)
                    .limit(limit)
                )
            ).all()
        return [RawRow(i, raw, env_from, tuple(env_to or ()), at) for i, raw, env_from, env_to, at in found]

    async def _claim(self, s: AsyncSession, ids: list[int]) -> dict[int, int]:
        """Lock the rows still pending; returns id -> attempts so far."""
        m = InboundMessage
        stmt = (
            select(m.id, m.attempts)
            .where(m.id.in_(ids), m.status == InboundStatus.PENDING)
            .with_for_update(skip_locked=True)
        )
        return {row_id: attempts for row_id, attempts in (await s.execute(stmt)).all()}

    async def _apply(self, s: AsyncSession, p: Prepared, attempts: int) -> _Mark:
        """Quarantined by a rule or a defect of the message, or received into a case."""
        hits = list(p.rule_hits) + list(p.message.rule_hits if p.message else ())
        if p.report is not None:  # a bounce: on the notice it is about, never a case
            recorded = await self.service.record_report(s, p.report)
            if recorded is None:
                reason = "delivery report about no notice of ours / 退信不属于我们发出的任何通知"
                log.warning("inbound #%d quarantined: %s", p.inbound_id, reason)
                return _Mark(p.inbound_id, attempts + 1, hits, InboundStatus.QUARANTINED, reason)
            return _Mark(p.inbound_id, attempts + 1, hits, InboundStatus.PROCESSED, recorded.note, recorded.case)
        if p.message is None:
            log.warning("inbound #%d quarantined: %s", p.inbound_id, p.reason)
            return _Mark(p.inbound_id, attempts + 1, hits, InboundStatus.QUARANTINED, p.reason)
        held = await self.service.hold_reason(s, p.message)
        if held is not None:  # bulk mail from a stranger, an auto-reply about no case: no case
            log.info("inbound #%d quarantined: %s", p.inbound_id, held)
            return _Mark(p.inbound_id, attempts + 1, hits, InboundStatus.QUARANTINED, held)
        outcome = await self.service.receive(s, p.message, inbound_id=p.inbound_id, flush=False)
        return _Mark(p.inbound_id, attempts + 1, hits, InboundStatus.PROCESSED, None, outcome.case)

    async def _mark(self, s: AsyncSession, marks: list[_Mark]) -> None:
        """The rows' outcome, one executemany for the batch (after the flush gave cases their ids)."""
        if not marks:
            return
        await s.flush()
        m = InboundMessage
        now = self.clock()
        stmt = (
            update(m)
            .where(m.id == bindparam("row_id"))
            .values(
                status=bindparam("new_status"),
                reason=bindparam("new_reason"),
                attempts=bindparam("new_attempts"),
                rule_hits=bindparam("new_hits", type_=m.__table__.c.rule_hits.type),
                case_id=bindparam("new_case"),
                processed_at=bindparam("new_at", type_=m.__table__.c.processed_at.type),
            )
        )
        conn = await s.connection()
        await conn.execute(
            stmt,
            [
                dict(
                    row_id=k.inbound_id,
                    new_status=k.status,
                    new_reason=k.reason,
                    new_attempts=k.attempts,
                    new_hits=k.rule_hits,
                    new_case=k.case.id if k.case is not None else None,
                    new_at=now,
                )
                for k in marks
            ],
        )

    async def _one_by_one(self) -> BatchResult:
        async with self.db.reader() as s:
            ids = list(
                (
                    await s.execute(
                        select(InboundMessage.id)
                        .where(InboundMessage.status == InboundStatus.PENDING)
                        .order_by(InboundMessage.id)
                        .limit(self.batch_size)
                    )
                ).scalars()
            )
        processed = quarantined = 0
        for inbound_id in ids:
            try:
                mark = await with_retries(
                    partial(self._alone, inbound_id),
                    self.db.health,
                    self.db.answers,
                    f"processor: inbound #{inbound_id}",
                )
            except RepeatedFailure as failure:
                # Twice, while the database answered: the message's own fault. Any other error
                # (the database stayed away) ends the round with the message still pending.
                exc = failure.error
                log.error("inbound #%d failed twice; quarantined", inbound_id, exc_info=exc)
                await self._quarantine(inbound_id, f"processing failed: {type(exc).__name__}: {exc}")
                quarantined += 1
            else:
                if mark is None:
                    continue
                quarantined += mark.quarantined
            processed += 1
        self.service.committed()
        return BatchResult(processed, quarantined)

    async def _alone(self, inbound_id: int) -> _Mark | None:
        """One message in its own transaction; None when it is no longer pending."""
        async with self.db.unit_of_work() as s:
            row = await s.get(InboundMessage, inbound_id, with_for_update=True)
            if row is None or row.status != InboundStatus.PENDING:
                return None
            data = (await s.execute(select(InboundRaw.raw).where(InboundRaw.inbound_id == row.id))).scalar_one()
            raw = RawRow(row.id, data, row.envelope_from, tuple(row.envelope_to or ()), row.received_at)
            mark = await self._apply(s, self.pool.prepare_one(raw), row.attempts)
            await self._mark(s, [mark])
        return mark

    async def _quarantine(self, inbound_id: int, reason: str) -> None:
        async with self.db.unit_of_work() as s:
            await s.execute(
                update(InboundMessage)
                .where(InboundMessage.id == inbound_id)
                .values(
                    status=InboundStatus.QUARANTINED,
                    reason=reason[:4000],
                    attempts=InboundMessage.attempts + 1,
                    processed_at=self.clock(),
                )
            )

    async def rerun(self, inbound_id: int) -> None:
        """Staff re-run a quarantined or ignored message (after a fix): it becomes pending again."""
        async with self.db.unit_of_work() as s:
            row = await s.get(InboundMessage, inbound_id, with_for_update=True)
            if row is None:
                from cases.domain.errors import NotFound

                raise NotFound(f"no inbound message #{inbound_id}", zh=f"收到的消息 #{inbound_id} 不存在")
            if row.status not in (InboundStatus.QUARANTINED, InboundStatus.IGNORED):
                from cases.domain.errors import Conflict

                raise Conflict(
                    f"inbound message #{inbound_id} is {row.status}, not quarantined",
                    zh=f"收到的消息 #{inbound_id} 的状态为 {row.status}，未被隔离",
                )
            row.status, row.reason = InboundStatus.PENDING, None
        self.wake()
