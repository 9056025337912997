"""The processor: stored raw mail -> parse -> rule chain -> IntakeMessage -> CaseService.

A separate, retryable step (intake rules). Rows are taken in batches, each batch in one
transaction that also marks the rows processed, so a crash re-runs the whole batch and opens
no case twice. A message that fails is retried alone; if it fails alone it is quarantined
with the reason, where staff can list it and re-run it after a fix (Mailman's shunt queue).
On PostgreSQL, ``FOR UPDATE SKIP LOCKED`` lets several instances share the work.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from sqlalchemy import select, update

from cases.clock import Clock
from cases.db import Database
from cases.models import InboundMessage, InboundStatus
from cases.service import CaseService
from intake.email_adapter import NoSender, to_intake
from intake.mailparse import MailParseError, parse_mail
from intake.mailrules import MailAction, evaluate

log = logging.getLogger(__name__)


class Held(Exception):
    """A rule or a defect of the message itself keeps it out: quarantine with this reason."""


@dataclass(frozen=True, slots=True)
class BatchResult:
    processed: int
    quarantined: int


class MailProcessor:
    def __init__(self, db: Database, service: CaseService, clock: Clock, reference_prefix: str,
                 batch_size: int = 100, poll_seconds: float = 5.0) -> None:
        self.db = db
        self.service = service
        self.clock = clock
        self.prefix = reference_prefix
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                while (await self.process_batch()).processed:
                    pass
            except Exception:
                log.exception("processor: batch failed; retrying soon")
                await asyncio.sleep(1)
            try:
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            except TimeoutError:
                pass
            self._wake.clear()

    async def drain(self) -> None:
        """Process until nothing is pending (tests, `kefu` one-shot commands)."""
        while (await self.process_batch()).processed:
            pass

    async def process_batch(self) -> BatchResult:
        try:
            async with self.db.unit_of_work() as s:
                rows = await self._claim(s, self.batch_size)
                if not rows:
                    return BatchResult(0, 0)
                quarantined = 0
                for row in rows:
                    quarantined += await self._process_row(s, row)
                count = len(rows)
        except Exception:
            log.exception("processor: batch rolled back; retrying each message alone")
            return await self._one_by_one()
        self.service.committed()
        return BatchResult(count, quarantined)

    async def _claim(self, s, limit: int) -> list[InboundMessage]:  # type: ignore[no-untyped-def]
        stmt = (
            select(InboundMessage)
            .where(InboundMessage.status == InboundStatus.PENDING.value)
            .order_by(InboundMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list((await s.execute(stmt)).scalars())

    async def _process_row(self, s, row: InboundMessage) -> int:  # type: ignore[no-untyped-def]
        """Returns 1 when the row was quarantined by a rule or a defect of the message."""
        now = self.clock()
        row.attempts += 1
        try:
            parsed = parse_mail(row.raw)
            verdict = evaluate(parsed, row.envelope_from)
            row.rule_hits = list(verdict.hits)
            if verdict.action is MailAction.HOLD:
                raise Held(f"held by rule: {', '.join(verdict.hits)}")
            msg = to_intake(parsed, verdict, inbound_id=row.id, envelope_from=row.envelope_from,
                            envelope_to=list(row.envelope_to), received_at=row.received_at,
                            reference_prefix=self.prefix)
            row.rule_hits = [*row.rule_hits, *msg.rule_hits]  # e.g. which fax gateway rule fired
        except (Held, NoSender, MailParseError) as exc:
            row.status, row.reason, row.processed_at = InboundStatus.QUARANTINED.value, str(exc), now
            log.warning("inbound #%d quarantined: %s", row.id, exc)
            return 1
        outcome = await self.service.receive(s, msg, inbound_id=row.id)
        row.status, row.case, row.processed_at, row.reason = InboundStatus.PROCESSED.value, outcome.case, now, None
        return 0

    async def _one_by_one(self) -> BatchResult:
        async with self.db.reader() as s:
            ids = list((await s.execute(
                select(InboundMessage.id).where(InboundMessage.status == InboundStatus.PENDING.value)
                .order_by(InboundMessage.id).limit(self.batch_size)
            )).scalars())
        processed = quarantined = 0
        for inbound_id in ids:
            try:
                async with self.db.unit_of_work() as s:
                    row = await s.get(InboundMessage, inbound_id, with_for_update=True)
                    if row is None or row.status != InboundStatus.PENDING.value:
                        continue
                    quarantined += await self._process_row(s, row)
            except Exception as exc:
                log.exception("inbound #%d failed; quarantined", inbound_id)
                await self._quarantine(inbound_id, f"processing failed: {type(exc).__name__}: {exc}")
                quarantined += 1
            processed += 1
        self.service.committed()
        return BatchResult(processed, quarantined)

    async def _quarantine(self, inbound_id: int, reason: str) -> None:
        async with self.db.unit_of_work() as s:
            await s.execute(
                update(InboundMessage).where(InboundMessage.id == inbound_id).values(
                    status=InboundStatus.QUARANTINED.value, reason=reason[:4000],
                    attempts=InboundMessage.attempts + 1, processed_at=self.clock(),
                )
            )

    async def rerun(self, inbound_id: int) -> None:
        """Staff re-run a quarantined or ignored message (after a fix): it becomes pending again."""
        async with self.db.unit_of_work() as s:
            row = await s.get(InboundMessage, inbound_id, with_for_update=True)
            if row is None:
                from cases.errors import NotFound

                raise NotFound(f"no inbound message #{inbound_id}")
            if row.status not in (InboundStatus.QUARANTINED.value, InboundStatus.IGNORED.value):
                from cases.errors import Conflict

                raise Conflict(f"inbound message #{inbound_id} is {row.status}, not quarantined")
            row.status, row.reason = InboundStatus.PENDING.value, None
        self.wake()
