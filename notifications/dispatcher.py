"""The dispatcher: fan out committed events, then deliver with retry, backoff and dead letters.

Nothing is sent inside a case transaction: a delivery is leased in a short transaction, sent
with no transaction open, and its result written in another. A crash after sending and before
recording can send a notice twice (at-least-once), never lose one.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from email.utils import formataddr
from typing import Any, Awaitable, Callable, Protocol

from sqlalchemy import or_, select, update

from cases.clock import Clock
from cases.db import Database
from cases.enums import Channel, Direction
from cases.models import Case, CaseMessage, Delivery, DeliveryStatus, OutboxEvent
from cases.settings import Settings
from cases.tokens import Signer
from cases.wakeup import run_rounds
from notifications.context import template_context
from notifications.email_out import OutgoingEmail, build_email
from notifications.fanout import Fanout
from notifications.render import Rendered, Renderer
from notifications.transports import MailTransport, PermanentSendError, TransientSendError

log = logging.getLogger(__name__)

ContextExtra = Callable[[Case], Awaitable[dict[str, Any]]]

MAX_ATTEMPTS = 10
LEASE = timedelta(minutes=5)


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min ... capped at 6 hours."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 6 * 3600))


class Dispatcher:
    def __init__(self, db: Database, settings: Settings, signer: Signer, clock: Clock,
                 transport: MailTransport, renderer: Renderer, poll_seconds: float = 5.0,
                 senders: dict[str, ChannelSender] | None = None) -> None:
        self.db = db
        self.senders = senders or {}  # channel -> sender, for channels other than email
        # (audience, template, channel) -> more template context for that notice
        self.context_extras: dict[tuple[str, str, str], ContextExtra] = {}
        self.settings = settings
        self.signer = signer
        self.clock = clock
        self.transport = transport
        self.renderer = renderer
        self.poll_seconds = poll_seconds
        self.fanout = Fanout(signer, settings.mail_domains[0], settings.auto_mail_per_recipient_per_day)
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        await run_rounds(self.run_once, self._wake, self.poll_seconds, "dispatcher")

    async def run_once(self) -> int:
        """Fan out everything pending, then send everything due. Returns deliveries attempted."""
        while True:
            async with self.db.unit_of_work() as s:
                if not await self.fanout.run_once(s, self.clock()):
                    break
        attempted = 0
        while ids := await self._lease(20):
            for delivery_id in ids:
                await self._deliver(delivery_id)
            attempted += len(ids)
        return attempted

    async def _lease(self, limit: int) -> list[int]:
        now = self.clock()
        async with self.db.unit_of_work() as s:
            ids = list((await s.execute(
                select(Delivery.id).where(
                    Delivery.status == DeliveryStatus.PENDING.value, Delivery.next_attempt_at <= now,
                    or_(Delivery.lease_until.is_(None), Delivery.lease_until < now),
                ).order_by(Delivery.id).limit(limit).with_for_update(skip_locked=True)
            )).scalars())
            if ids:
                await s.execute(update(Delivery).where(Delivery.id.in_(ids)).values(lease_until=now + LEASE))
        return ids

    async def _deliver(self, delivery_id: int) -> None:
        async with self.db.reader() as s:
            d = await s.get(Delivery, delivery_id)
            event = await s.get(OutboxEvent, d.event_id) if d else None
            case = await s.get(Case, d.case_id) if d and d.case_id else None
            if d is None or event is None or case is None:
                return
            context = await template_context(s, case, event, d.language, self.settings.tz, self.settings.public_url)
            in_reply_to, references = await _thread_ids(s, case.id) if d.audience == "customer" else (None, ())
        # Outside the read: a provider may write (a single-use Telegram link in the acknowledgement).
        extra = self.context_extras.get((d.audience, d.template, d.channel))
        if extra is not None:
            context.update(await extra(case))
        rendered = self.renderer.render(d.audience, d.template, d.channel, d.language, context)
        if d.channel != Channel.EMAIL.value:
            await self._send_by(d, case, rendered)
            return
        message_id = d.message_id or _staff_message_id(self.signer, case.reference, self.settings.mail_domains[0])
        mail = OutgoingEmail(
            from_addr=formataddr((self.settings.mail_from_name, self.settings.service_address)),
            to=(d.recipient,), subject=rendered.subject, body=rendered.body, message_id=message_id,
            in_reply_to=in_reply_to, references=references,
            reply_to=f"{self.settings.service_local_part}+{self.signer.case_token(case.reference)}@{self.settings.mail_domains[0]}",
            language=d.language, loop_id=self.settings.instance_id,
        )
        data = build_email(mail, self.clock())
        try:
            await self.transport.send(self.settings.service_address, [d.recipient], data)
        except PermanentSendError as exc:
            await self._finish(d.id, DeliveryStatus.DEAD, f"permanent: {exc}")
            log.error("%s: %s to %s failed permanently: %s", case.reference, d.template, d.audience, exc)
            return
        except (TransientSendError, OSError) as exc:
            await self._retry(d.id, d.attempts + 1, str(exc))
            log.warning("%s: %s to %s failed, will retry: %s", case.reference, d.template, d.audience, exc)
            return
        await self._finish(d.id, DeliveryStatus.SENT, None, record=(case.id, message_id, rendered, d))
        log.info("%s: sent %s to %s", case.reference, d.template, d.audience)

    async def _send_by(self, d: Delivery, case: Case, rendered: Rendered) -> None:
        """A channel other than email (Telegram): its sender raises the same two errors."""
        sender = self.senders.get(d.channel)
        try:
            if sender is None:
                raise PermanentSendError(f"no sender for channel {d.channel!r} (is it configured?)")
            await sender.send(d, case, rendered)
        except PermanentSendError as exc:
            await self._finish(d.id, DeliveryStatus.DEAD, f"permanent: {exc}")
            log.error("%s: %s to %s on %s failed permanently: %s", case.reference, d.template, d.audience, d.channel, exc)
            return
        except (TransientSendError, OSError) as exc:
            await self._retry(d.id, d.attempts + 1, str(exc))
            log.warning("%s: %s to %s on %s failed, will retry: %s", case.reference, d.template, d.audience, d.channel, exc)
            return
        await self._finish(d.id, DeliveryStatus.SENT, None, record=(case.id, None, rendered, d))
        log.info("%s: sent %s to %s on %s", case.reference, d.template, d.audience, d.channel)

    async def _retry(self, delivery_id: int, attempts: int, error: str) -> None:
        now = self.clock()
        status = DeliveryStatus.DEAD if attempts >= MAX_ATTEMPTS else DeliveryStatus.PENDING
        async with self.db.unit_of_work() as s:
            await s.execute(update(Delivery).where(Delivery.id == delivery_id).values(
                attempts=attempts, status=status.value, last_error=error[:2000],
                next_attempt_at=now + backoff(attempts), lease_until=None,
            ))

    async def _finish(self, delivery_id: int, status: DeliveryStatus, error: str | None,
                      record: tuple | None = None) -> None:  # type: ignore[type-arg]
        now = self.clock()
        async with self.db.unit_of_work() as s:
            await s.execute(update(Delivery).where(Delivery.id == delivery_id).values(
                status=status.value, last_error=error, sent_at=now if status is DeliveryStatus.SENT else None,
                attempts=Delivery.attempts + 1, lease_until=None,
            ))
            if record is not None:
                case_id, message_id, rendered, d = record
                if d.audience == "customer" and d.template != "reply":
                    # Automatic notices join the conversation, so staff see what the customer got.
                    s.add(CaseMessage(case_id=case_id, direction=Direction.OUT.value, channel=d.channel,
                                      message_id=message_id, sender="kefu", subject=rendered.subject,
                                      body=rendered.body, new_text="", is_automatic=True, created_at=now))


class ChannelSender(Protocol):
    async def send(self, d: Delivery, case: Case, rendered: Rendered) -> None: ...


def _staff_message_id(signer: Signer, reference: str, domain: str) -> str:
    from notifications.email_out import make_message_id

    return make_message_id(signer.case_token(reference), domain)


async def _thread_ids(s, case_id: int) -> tuple[str | None, tuple[str, ...]]:  # type: ignore[no-untyped-def]
    """In-Reply-To: the customer's latest mail; References: first and recent messages, oldest first."""
    rows = list((await s.execute(
        select(CaseMessage.message_id, CaseMessage.direction).where(
            CaseMessage.case_id == case_id, CaseMessage.message_id.is_not(None)
        ).order_by(CaseMessage.id)
    )).all())
    ids = [mid for mid, _ in rows]
    inbound = [mid for mid, direction in rows if direction == Direction.IN.value]
    in_reply_to = inbound[-1] if inbound else None
    refs = ids[:1] + ids[-9:] if len(ids) > 10 else ids
    return in_reply_to, tuple(dict.fromkeys(refs))
