"""The dispatcher: fan out committed events, then deliver with retry, backoff and dead letters.

Nothing is sent inside a case transaction. Deliveries are leased in batches in a short
transaction; a batch is read in a few queries (notifications/batch.py), its notices are sent
one by one with no transaction open, and the results of the whole batch are written in one
transaction afterwards (one commit, one fsync on SQLite, per batch rather than per notice).

At-least-once: a result is recorded only after its send. A crash (or a failed result
transaction) after sending and before recording re-sends at most the unrecorded part of one
batch - up to ``BATCH`` notices - once its lease expires; a notice is never lost. A batch that
outlives most of its lease stops early and hands the rest back, so another instance does not
lease and send them while this one still works on them. An error that is neither a send
result nor expected (a broken template) still records what the batch sent before it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import formataddr
from functools import partial
from typing import Any, Protocol, cast

from sqlalchemy import Table, bindparam, or_, select, update

from cases.domain.clock import Clock
from cases.domain.enums import Channel, Direction
from cases.domain.meter import NO_METER, Measure, Meter, Tally
from cases.domain.tokens import Signer
from cases.services.wakeup import run_rounds
from cases.settings import Settings
from cases.store import rows
from cases.store.db import Database
from cases.store.faults import RepeatedFailure, is_transient, with_retries
from cases.store.models import Blob, Case, CaseMessage, Delivery, DeliveryStatus, OutboxEvent
from notifications.batch import Batch, Job, load_batch
from notifications.email_out import MailAttachment, OutgoingEmail, build_email, make_message_id
from notifications.fanout import Fanout
from notifications.leases import Leases
from notifications.render import Rendered, Renderer
from notifications.transports import MailTransport, PermanentSendError, TransientSendError

log = logging.getLogger(__name__)

ContextExtra = Callable[[Case], Awaitable[dict[str, Any]]]

MAX_ATTEMPTS = 10
LEASE = timedelta(minutes=5)
# A batch stops sending when less than this is left of its lease (a relay timing out on every
# notice takes 30 s each); the rest goes back to the queue unsent.
LEASE_MARGIN = timedelta(minutes=1)
BATCH = 50  # deliveries leased, read and recorded together

_DELIVERIES = cast(Table, Delivery.__table__)
_FINISH = (
    update(_DELIVERIES)
    .where(_DELIVERIES.c.id == bindparam("b_id"))
    .values(
        status=bindparam("b_status"),
        last_error=bindparam("b_error"),
        sent_at=bindparam("b_sent_at"),
        attempts=_DELIVERIES.c.attempts + 1,
        lease_until=None,
        leased_by=None,
    )
)
_RETRY = (
    update(_DELIVERIES)
    .where(_DELIVERIES.c.id == bindparam("b_id"))
    .values(
        attempts=bindparam("b_attempts"),
        status=bindparam("b_status"),
        last_error=bindparam("b_error"),
        next_attempt_at=bindparam("b_next"),
        lease_until=None,
        leased_by=None,
    )
)


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min ... capped at 6 hours."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 6 * 3600))


@dataclass(frozen=True, slots=True)
class _Outcome:
    """The result of one send, to be written with the rest of its batch."""

    delivery_id: int
    status: DeliveryStatus  # SENT, DEAD, or PENDING for a retry
    at: datetime  # when the send ended (sent_at, the conversation entry, the retry's backoff base)
    error: str | None = None
    retried: bool = False  # a transient failure: attempts counted, the next one after a backoff
    attempts: int = 0  # a retry's new attempt count
    note: dict[str, Any] | None = None  # a CaseMessage row: the notice joins the conversation


class Dispatcher:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        signer: Signer,
        clock: Clock,
        transport: MailTransport,
        renderer: Renderer,
        poll_seconds: float = 5.0,
        senders: dict[str, ChannelSender] | None = None,
        context_extras: dict[tuple[str, str, str], ContextExtra] | None = None,
        meter: Meter = NO_METER,
    ) -> None:
        self.db = db
        self.meter = meter
        self.senders = senders or {}  # channel -> sender, for channels other than email
        # (audience, template, channel) -> more template context for that notice
        self.context_extras = context_extras or {}
        self.settings = settings
        self.signer = signer
        self.clock = clock
        self.transport = transport
        self.renderer = renderer
        self.poll_seconds = poll_seconds
        self.fanout = Fanout(signer, settings.mail_domains[0], settings.auto_mail_per_recipient_per_day)
        # Per dispatcher, not per notice: the formatted From and the Reply-To address pattern.
        self._from = formataddr((settings.mail_from_name, settings.service_address))
        self._reply_local = settings.service_local_part
        self._domain = settings.mail_domains[0]
        self._wake = asyncio.Event()
        self.leases = Leases(db, clock, settings.instance_id, on_reclaim=self.wake)

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Send, and beat the heartbeat that takes back dead instances' leases (leases.py)."""
        beating = asyncio.create_task(self.leases.run(), name="heartbeat")
        try:
            await run_rounds(self.run_once, self._wake, self.poll_seconds, "dispatcher", self.db.health)
        finally:
            beating.cancel()
            await asyncio.gather(beating, return_exceptions=True)

    async def run_once(self) -> int:
        """Fan out everything pending, then send everything due. Returns deliveries attempted."""
        while True:
            try:
                async with self.db.unit_of_work() as s:
                    if not await self.fanout.run_once(s, self.clock()):
                        break
            except Exception as exc:
                if is_transient(exc):
                    raise  # the database is away or busy: the whole round is tried again later
                log.exception("fan-out: batch rolled back; fanning out its events one at a time")
                await self._fan_out_one_by_one()
        attempted = 0
        while leased := await self._lease(BATCH):
            ids, until = leased
            try:
                attempted += await self._deliver_batch(ids, until)
            except Exception as exc:
                # Not the whole lease (5 minutes) for a lost connection: what the batch recorded
                # as sent stays sent, the rest goes back to the queue now (at least once). A bug
                # keeps its lease, which then spaces out its retries.
                if is_transient(exc):
                    await self._hand_back(ids)
                raise
        return attempted

    async def _hand_back(self, ids: list[int]) -> None:
        try:
            async with self.db.unit_of_work() as s:
                await s.execute(
                    update(Delivery)
                    .where(Delivery.id.in_(ids), Delivery.status == DeliveryStatus.PENDING)
                    .values(lease_until=None, leased_by=None)
                )
        except Exception as exc:  # the database is away: the heartbeat's reclaim (or the lease) ends it
            log.warning("dispatcher: could not hand back %d lease(s): %s", len(ids), type(exc).__name__)

    async def _fan_out_one_by_one(self, limit: int = 100) -> None:
        """After a failed batch: each event alone, a transient error retried with a bounded
        backoff; one that fails twice alone while the database answers is set aside with the
        reason (outbox_events.fanout_error), so that one bad event does not hold up the others."""
        async with self.db.reader() as s:
            ids = list(
                (
                    await s.execute(
                        select(OutboxEvent.id)
                        .where(OutboxEvent.fanned_out_at.is_(None))
                        .order_by(OutboxEvent.id)
                        .limit(limit)
                    )
                ).scalars()
            )
        for event_id in ids:
            try:
                await with_retries(
                    partial(self._fan_out_one, event_id), self.db.health, self.db.answers, f"fan-out: event #{event_id}"
                )
            except RepeatedFailure as failure:
                # Twice, while the database answered. Any other error (the database stayed
                # away) ends the round with the event still waiting for its fan-out.
                exc = failure.error
                log.error("fan-out: outbox event #%d set aside: %s: %s", event_id, type(exc).__name__, exc)
                async with self.db.unit_of_work() as s:
                    await s.execute(
                        update(OutboxEvent)
                        .where(OutboxEvent.id == event_id)
                        .values(fanned_out_at=self.clock(), fanout_error=f"{type(exc).__name__}: {exc}"[:4000])
                    )

    async def _fan_out_one(self, event_id: int) -> None:
        async with self.db.unit_of_work() as s:
            await self.fanout.run_once(s, self.clock(), only=event_id)

    async def refan(self, event_id: int) -> None:
        """Staff put a set-aside event back (after a fix): it is fanned out again."""
        from cases.domain.errors import Conflict, NotFound

        async with self.db.unit_of_work() as s:
            event = await s.get(OutboxEvent, event_id, with_for_update=True)
            if event is None:
                raise NotFound(f"no outbox event #{event_id}", zh=f"待发事件 #{event_id} 不存在")
            if event.fanout_error is None:
                raise Conflict(f"outbox event #{event_id} was not set aside", zh=f"待发事件 #{event_id} 未被搁置")
            event.fanned_out_at, event.fanout_error = None, None
        self.wake()

    async def _lease(self, limit: int) -> tuple[list[int], datetime] | None:
        now = self.clock()
        async with self.db.unit_of_work() as s:
            ids = list(
                (
                    await s.execute(
                        select(Delivery.id)
                        .where(
                            Delivery.status == DeliveryStatus.PENDING,
                            Delivery.next_attempt_at <= now,
                            or_(Delivery.lease_until.is_(None), Delivery.lease_until < now),
                        )
                        .order_by(Delivery.id)
                        .limit(limit)
                        .with_for_update(skip_locked=True)
                    )
                ).scalars()
            )
            if ids:
                await s.execute(
                    update(Delivery)
                    .where(Delivery.id.in_(ids))
                    .values(lease_until=now + LEASE, leased_by=self.settings.instance_id)
                )
        return (ids, now + LEASE) if ids else None

    async def _deliver_batch(self, ids: list[int], lease_until: datetime) -> int:
        """Send the leased batch, then record every result in one transaction. Returns how many
        deliveries were leased and not handed back."""
        batch = await with_retries(partial(self._load, ids), self.db.health, self.db.answers, "dispatcher: batch")
        outcomes: list[_Outcome] = []
        handed_back: list[int] = []
        try:
            for i, job in enumerate(batch.jobs):
                if self.clock() >= lease_until - LEASE_MARGIN:
                    handed_back = [j.delivery.id for j in batch.jobs[i:]]
                    log.warning("dispatcher: lease nearly over; %d delivery(ies) handed back unsent", len(handed_back))
                    break
                outcome = await self._deliver(batch, job)
                outcomes.append(outcome)
                if outcome.note is not None and outcome.note["message_id"]:
                    batch.sent_on(outcome.note["case_id"], outcome.note["message_id"])
        finally:
            # Also when a notice raised something unexpected: what was sent is recorded.
            if outcomes or handed_back:
                await self._record_surely(outcomes, handed_back)
                self._count(batch, outcomes)
        return len(ids) - len(handed_back)

    async def _load(self, ids: list[int]) -> Batch:
        async with self.db.reader() as s:
            return await load_batch(s, ids, self.settings.tz, self.settings.public_url)

    def _count(self, batch: Batch, outcomes: list[_Outcome]) -> None:
        """Once recorded: each result by its channel, and each send's lag from when it was due
        (fanned out, or its retry's time): a dispatcher that falls behind shows there."""
        deliveries = {j.delivery.id: j.delivery for j in batch.jobs}
        for o in outcomes:
            d = deliveries[o.delivery_id]
            channel = str(d.channel)
            if o.status is DeliveryStatus.SENT:
                self.meter.count(Tally.NOTICE_SENT, channel=channel)
                self.meter.observe(Measure.NOTICE_LAG, (o.at - d.next_attempt_at).total_seconds(), channel=channel)
            else:
                self.meter.count(
                    Tally.NOTICE_DEAD if o.status is DeliveryStatus.DEAD else Tally.NOTICE_FAILED, channel=channel
                )

    async def _deliver(self, batch: Batch, job: Job) -> _Outcome:
        d, case, context = job.delivery, job.case, job.context
        # Outside any read: a provider may write (a single-use Telegram link in the acknowledgement).
        extra = self.context_extras.get((d.audience, d.template, d.channel))
        if extra is not None and case is not None:
            context.update(await extra(case))
        # A notice about no case has a frame without the case's facts (render.py).
        frame = "_base" if case is not None else "_notice"
        rendered = self.renderer.render(d.audience, d.template, d.channel, d.language, context, frame=frame)
        if d.channel != Channel.EMAIL:
            return await self._send_by(d, job, rendered)
        if case is None:
            return await self._mail_about_no_case(d, job.about, rendered)
        in_reply_to, references = batch.thread_ids(case.id) if d.audience == "customer" else (None, ())
        message_id = d.message_id or _staff_message_id(self.signer, case.reference, d.recipient, self._domain)
        mail = OutgoingEmail(
            from_addr=self._from,
            to=(d.recipient,),
            subject=rendered.subject,
            body=rendered.body,
            message_id=message_id,
            in_reply_to=in_reply_to,
            references=references,
            reply_to=f"{self._reply_local}+{job.reply_token or self.signer.reply_token(case.reference, self.clock())}"
            f"@{self._domain}",
            language=d.language,
            loop_id=self.settings.instance_id,
            attachments=await self._attachments(job.attachments) if job.attachments else (),
        )
        data = build_email(mail, self.clock())
        # VERP (a signed token of the delivery in the envelope sender): a bounce names the notice
        # it is about even when it returns none of its headers (notifications.md, "Bounces").
        return_path = f"{self._reply_local}+{self.signer.bounce_token(d.id)}@{self._domain}"
        failed = await self._attempt(d, job.about, self.transport.send(return_path, [d.recipient], data))
        return failed or self._sent(d, case, message_id, rendered)

    async def _mail_about_no_case(self, d: Delivery, about: str, rendered: Rendered) -> _Outcome:
        """A staff mail about no case: a Message-ID with no case token (a reply to it threads to
        no case and takes no workflow step), no Reply-To token (the reply goes to the service
        address as any mail would), no thread. Its bounce still names the delivery (VERP)."""
        message_id = make_message_id(f"notice.{about.replace('_', '-')}", self._domain)
        mail = OutgoingEmail(
            from_addr=self._from,
            to=(d.recipient,),
            subject=rendered.subject,
            body=rendered.body,
            message_id=message_id,
            language=d.language,
            loop_id=self.settings.instance_id,
        )
        data = build_email(mail, self.clock())
        return_path = f"{self._reply_local}+{self.signer.bounce_token(d.id)}@{self._domain}"
        failed = await self._attempt(d, about, self.transport.send(return_path, [d.recipient], data))
        return failed or self._sent(d, None, message_id, rendered)

    async def _attachments(self, files: list[dict[str, str]]) -> tuple[MailAttachment, ...]:
        """The bytes of a notice's files (evidence of a warranty decision), read when it is sent."""
        async with self.db.reader() as s:
            found = await s.execute(select(Blob.sha256, Blob.data).where(Blob.sha256.in_({f["sha256"] for f in files})))
            data: dict[str, bytes] = {sha: blob for sha, blob in found}
        return tuple(
            MailAttachment(f["filename"], f["content_type"], data[f["sha256"]]) for f in files if f["sha256"] in data
        )

    async def _send_by(self, d: Delivery, job: Job, rendered: Rendered) -> _Outcome:
        """A channel other than email (Telegram): its sender raises the same two errors."""
        sender = self.senders.get(d.channel)
        send = sender.send(d, job.case, rendered) if sender is not None else _no_sender(d.channel)
        failed = await self._attempt(d, job.about, send, f" on {d.channel}")
        return failed or self._sent(d, job.case, None, rendered)

    async def _attempt(self, d: Delivery, about: str, send: Awaitable[None], via: str = "") -> _Outcome | None:
        """Run one send; the outcome of a failure (dead, or a retry after a backoff), else None.
        `about` is what the log lines name: the case reference, or the event kind."""
        try:
            await send
        except PermanentSendError as exc:
            log.error("%s: %s to %s%s failed permanently: %s", about, d.template, d.audience, via, exc)
            return _Outcome(d.id, DeliveryStatus.DEAD, self.clock(), f"permanent: {exc}")
        except (TransientSendError, OSError) as exc:
            log.warning("%s: %s to %s%s failed, will retry: %s", about, d.template, d.audience, via, exc)
            return self._retry(d, str(exc))
        log.info("%s: sent %s to %s%s", about, d.template, d.audience, via)
        return None

    def _retry(self, d: Delivery, error: str) -> _Outcome:
        attempts = d.attempts + 1
        status = DeliveryStatus.DEAD if attempts >= MAX_ATTEMPTS else DeliveryStatus.PENDING
        return _Outcome(d.id, status, self.clock(), error[:2000], retried=True, attempts=attempts)

    def _sent(self, d: Delivery, case: Case | None, message_id: str | None, rendered: Rendered) -> _Outcome:
        now = self.clock()
        note = None
        if d.audience == "customer" and case is not None:
            # Customer notices join the conversation, so staff see what the customer got: the
            # reply too, as sent, with its satisfaction request (Sales' own text is the
            # message before it).
            note = {
                "case_id": case.id,
                "direction": Direction.OUT,
                "channel": d.channel,
                "message_id": message_id,
                "sender": "kefu",
                "subject": rendered.subject,
                "body": rendered.body,
                "new_text": "",
                "is_automatic": True,
                "created_at": now,
            }
        return _Outcome(d.id, DeliveryStatus.SENT, now, note=note)

    async def _record_surely(self, outcomes: list[_Outcome], handed_back: list[int]) -> None:
        """`_record`, retried through a lost connection: results not written are sent again."""
        try:
            await with_retries(
                partial(self._record, outcomes, handed_back), self.db.health, self.db.answers, "dispatcher: results"
            )
        except RepeatedFailure as failure:
            raise failure.error from None

    async def _record(self, outcomes: list[_Outcome], handed_back: list[int]) -> None:
        """One transaction for a batch's results: finished, retried, handed back, conversation."""
        finished = [
            {
                "b_id": o.delivery_id,
                "b_status": o.status,
                "b_error": o.error,
                "b_sent_at": o.at if o.status is DeliveryStatus.SENT else None,
            }
            for o in outcomes
            if not o.retried
        ]
        retried = [
            {
                "b_id": o.delivery_id,
                "b_attempts": o.attempts,
                "b_status": o.status,
                "b_error": o.error,
                "b_next": o.at + backoff(o.attempts),
            }
            for o in outcomes
            if o.retried
        ]
        async with self.db.unit_of_work() as s:
            if finished:
                await s.execute(_FINISH, finished)
            if retried:
                await s.execute(_RETRY, retried)
            if handed_back:
                await s.execute(
                    update(Delivery).where(Delivery.id.in_(handed_back)).values(lease_until=None, leased_by=None)
                )
            for o in outcomes:
                if o.note is not None:
                    rows.append(s, CaseMessage, o.note)


class ChannelSender(Protocol):
    """`case` is None for a staff notice about no case (a report falling due)."""

    async def send(self, d: Delivery, case: Case | None, rendered: Rendered) -> None: ...


async def _no_sender(channel: str) -> None:
    raise PermanentSendError(f"no sender for channel {str(channel)!r} (is it configured?)")


def _staff_message_id(signer: Signer, reference: str, recipient: str, domain: str) -> str:
    """Signed for its one recipient: a reply from them may take a workflow step
    (cases/services/staff_replies.py)."""
    return make_message_id(signer.staff_notice_token(reference, recipient), domain)
