"""SMTP intake (aiosmtpd): validate the recipient, store the raw bytes, then answer 250.

Only protocol work happens here; parsing and case creation run later in the processor.
aiosmtpd answers an unhandled exception with a permanent 500 and the sender would bounce the
mail, so every failure is answered ``451 4.3.0`` and the sender retries (intake rules).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from cases.domain.enums import Channel
from cases.domain.meter import NO_METER, Meter, Tally
from intake.inbox import Inbox, RawInput
from intake.mailkey import dedupe_key
from intake.smtp_data import ChunkedDataSMTP

if TYPE_CHECKING:
    from cases.settings import Settings

log = logging.getLogger(__name__)


def redact(address: str) -> str:
    """`zhang.wei@example.cn` -> `z***@example.cn`, for logs."""
    local, at, domain = address.partition("@")
    return f"{local[:1]}***{at}{domain}" if at else "***"


class IntakeHandler:
    def __init__(self, inbox: Inbox, domains: tuple[str, ...], local_part: str, meter: Meter = NO_METER) -> None:
        self.inbox = inbox
        self.meter = meter
        self.domains = frozenset(d.lower() for d in domains)
        self.local_part = local_part.lower()

    def accepts(self, address: str) -> bool:
        local, at, domain = address.rpartition("@")
        if not at or domain.lower().rstrip(".") not in self.domains:
            return False
        base = local.lower().split("+", 1)[0]
        return base == self.local_part

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        """aiosmtpd's EHLO reply, offering PIPELINING (RFC 2920) and CHUNKING (RFC 3030) too:
        mail servers then send MAIL, RCPT and DATA in one packet, or MAIL, RCPT and the whole
        mail as ``BDAT <size> LAST``. aiosmtpd reads commands in order from one buffer, which
        is all PIPELINING asks of a server; ChunkedDataSMTP reads BDAT."""
        session.host_name = hostname  # this form of the hook sets it itself
        return [*responses[:-1], "250-PIPELINING", "250-CHUNKING", responses[-1]]

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if not self.accepts(address):
            log.info("refused recipient %s", redact(address))
            return "550 5.1.1 Recipient address rejected: not a kefu service address"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        if not isinstance(raw, bytes):
            raw = str(raw).encode("utf-8", "surrogateescape")
        self.meter.count(Tally.MAIL_RECEIVED, source="smtp")
        try:
            message_id, key = dedupe_key(raw)
            stored = await self.inbox.put(
                RawInput(
                    channel=Channel.EMAIL,
                    dedupe_key=key,
                    raw=raw,
                    message_id=message_id,
                    envelope_from=envelope.mail_from or "",
                    envelope_to=tuple(envelope.rcpt_tos),
                )
            )
        except Exception:
            log.exception("could not store mail from %s; answered 451", redact(envelope.mail_from or ""))
            self.meter.count(Tally.MAIL_TEMPFAIL)
            return "451 4.3.0 Temporary failure storing the message, please try again later"
        if stored.duplicate:
            log.info("duplicate mail %s accepted again, stored once", message_id)
            return "250 2.0.0 OK: already received"
        return f"250 2.0.0 OK: stored as #{stored.inbound_id}"

    async def handle_exception(self, error: Exception) -> str:
        log.error("SMTP session error: %r", error)
        self.meter.count(Tally.MAIL_TEMPFAIL)
        return "451 4.3.0 Temporary local problem, please try again later"


def create_smtp_factory(handler: IntakeHandler, hostname: str, max_bytes: int) -> Any:
    def factory() -> SMTP:
        # Same protocol as aiosmtpd's SMTP; DATA is read in chunks, not line by line.
        return ChunkedDataSMTP(
            handler,
            hostname=hostname,
            ident="kefu ESMTP",
            data_size_limit=max_bytes,
            enable_SMTPUTF8=True,
            decode_data=False,
        )

    return factory


async def start_smtp_server(inbox: Inbox, settings: Settings, meter: Meter = NO_METER) -> asyncio.base_events.Server:
    """SMTP intake as the settings say (listen address, our domains and local part, the size
    limit), storing into `inbox`, counting through `meter`."""
    s = settings
    handler = IntakeHandler(inbox, s.mail_domains, s.service_local_part, meter)
    host, port = s.smtp_listen
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        create_smtp_factory(handler, s.mail_domains[0], s.max_message_bytes), host=host, port=port
    )
    log.info("SMTP intake listening on %s:%d", host, port)
    return server


async def close_smtp_server(server: asyncio.base_events.Server, seconds: float) -> None:
    """Stop listening and wait for the sessions to end, at most `seconds`: an SMTP client
    idling in its session must not hold the shutdown for minutes."""
    server.close()
    try:
        async with asyncio.timeout(seconds):
            await server.wait_closed()
    except TimeoutError:
        log.warning("SMTP sessions still open after %d s; closing them", seconds)
