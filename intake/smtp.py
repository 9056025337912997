"""SMTP intake (aiosmtpd): validate the recipient, store the raw bytes, then answer 250.

Only protocol work happens here; parsing and case creation run later in the processor.
aiosmtpd answers an unhandled exception with a permanent 500 and the sender would bounce the
mail, so every failure is answered ``451 4.3.0`` and the sender retries (intake rules).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections import Counter
from typing import TYPE_CHECKING, Any, cast

from aiosmtpd.smtp import SMTP, Envelope, Session

from cases.domain.enums import Channel
from cases.domain.meter import NO_METER, Meter, Tally
from cases.store.faults import is_transient
from intake.inbox import Inbox, RawInput
from intake.mailkey import dedupe_key
from intake.smtp_data import ChunkedDataSMTP

if TYPE_CHECKING:
    from cases.settings import Settings

log = logging.getLogger(__name__)

# RFC 5321 4.5.3.1.8: a server must accept at least 100 recipients; it need not accept more.
MAX_RECIPIENTS = 100


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
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            # RFC 5321 4.5.3.1.8 and 4.5.3.1.10: a temporary 452; the client sends the rest in
            # another transaction. A complaint is for our one service address anyway.
            return "452 4.5.3 Too many recipients"
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
        except Exception as exc:
            health = self.inbox.db.health
            if is_transient(exc) or health.down:  # said once for the outage, counted for its end
                health.failed(exc, "SMTP intake")
            else:
                log.exception("could not store mail from %s; answered 451", redact(envelope.mail_from or ""))
            health.answered_451()
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


class ClientConnections:
    """Open connections per client address, capped (KEFU_SMTP_CONNECTIONS_PER_CLIENT): one
    address cannot take every session the event loop can serve."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.open: Counter[str] = Counter()

    def enter(self, address: str) -> bool:
        if self.cap > 0 and self.open[address] >= self.cap:
            return False
        self.open[address] += 1
        return True

    def leave(self, address: str) -> None:
        self.open[address] -= 1
        if self.open[address] <= 0:
            del self.open[address]


class LimitedSMTP(ChunkedDataSMTP):
    """ChunkedDataSMTP that first counts the client's open connections: one too many is
    answered ``421 4.7.0`` and closed before the greeting (RFC 5321 3.8: 421 may be sent at
    any time, and the client tries again later)."""

    def __init__(self, connections: ClientConnections, *args: Any, **kwargs: Any) -> None:
        self._connections = connections
        self._counted: str | None = None
        super().__init__(*args, **kwargs)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self._counted is None and self._original_transport is None:  # not the STARTTLS switch
            peer = transport.get_extra_info("peername")
            address = str(peer[0]) if peer else "?"
            if not self._connections.enter(address):
                log.warning("SMTP: refused a connection from %s: %d already open", address, self._connections.cap)
                cast(asyncio.WriteTransport, transport).write(
                    b"421 4.7.0 Too many connections from your address, try again later\r\n"
                )
                transport.close()
                return
            self._counted = address
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        if self._counted is None:
            return  # refused above: aiosmtpd never started a session
        self._connections.leave(self._counted)
        self._counted = None
        super().connection_lost(error)

    def eof_received(self) -> bool | None:
        if self._counted is None:
            return False
        return super().eof_received()


def tls_context(cert: str | None, key: str | None) -> ssl.SSLContext | None:
    """The server side of STARTTLS (RFC 3207) when a certificate and its key are configured."""
    if not cert or not key:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def create_smtp_factory(
    handler: IntakeHandler,
    hostname: str,
    max_bytes: int,
    connections: ClientConnections | None = None,
    tls: ssl.SSLContext | None = None,
) -> Any:
    counted = connections or ClientConnections(0)

    def factory() -> SMTP:
        # Same protocol as aiosmtpd's SMTP; DATA is read in chunks, not line by line.
        return LimitedSMTP(
            counted,
            handler,
            hostname=hostname,
            ident="kefu ESMTP",
            data_size_limit=max_bytes,
            enable_SMTPUTF8=True,
            decode_data=False,
            tls_context=tls,
        )

    return factory


async def start_smtp_server(inbox: Inbox, settings: Settings, meter: Meter = NO_METER) -> asyncio.base_events.Server:
    """SMTP intake as the settings say (listen address, our domains and local part, the size
    limit), storing into `inbox`, counting through `meter`."""
    s = settings
    handler = IntakeHandler(inbox, s.mail_domains, s.service_local_part, meter)
    host, port = s.smtp_listen
    loop = asyncio.get_running_loop()
    tls = tls_context(s.smtp_tls_cert, s.smtp_tls_key)
    factory = create_smtp_factory(
        handler, s.mail_domains[0], s.max_message_bytes, ClientConnections(s.smtp_connections_per_client), tls
    )
    server = await loop.create_server(factory, host=host, port=port)
    log.info("SMTP intake listening on %s:%d%s", host, port, " (STARTTLS offered)" if tls else "")
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
