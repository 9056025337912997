"""Mail transports against a real SMTP server on loopback and a real temporary folder."""

from __future__ import annotations

import logging
import re
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from notifications.transports import (
    FolderTransport,
    PermanentSendError,
    SmtpRelayTransport,
    TransientSendError,
    parse_relay_url,
    transport_from_url,
)

DATA = (
    b"From: service@kefu.example\r\nTo: wang@customer.example\r\n"
    b"Subject: [FB-2026-000123] test\r\nMessage-ID: <kefu.t.1@kefu.example>\r\n\r\n"
    b"hello\r\n.leading dot survives\r\n"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Recorder:
    """Accepts everything and keeps the envelopes."""

    envelopes: list[Envelope] = field(default_factory=list)

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 2.0.0 OK"


class TempFailData(Recorder):
    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        return "451 4.3.0 Try again later"


class RejectData(Recorder):
    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        return "554 5.7.1 Message rejected as spam"


@dataclass
class RejectRecipients(Recorder):
    """Refuses the recipients in ``refused`` with ``reply``; accepts the others."""

    refused: set[str] = field(default_factory=set)
    reply: str = "550 5.1.1 <{addr}>: Recipient address rejected: User unknown"

    async def handle_RCPT(
        self,
        server: SMTPServer,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address in self.refused:
            return self.reply.format(addr=address)
        envelope.rcpt_tos.append(address)
        return "250 OK"


class RejectSender(Recorder):
    async def handle_MAIL(
        self,
        server: SMTPServer,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        return "553 5.7.1 Sender address rejected"


StartServer = Callable[..., int]


@pytest.fixture
def smtp_server() -> Iterator[StartServer]:
    """Start aiosmtpd on 127.0.0.1 with a free port; returns the port."""
    controllers: list[Controller] = []

    def start(handler: object, **kwargs: Any) -> int:
        port = _free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
        controller.start()
        controllers.append(controller)
        return port

    yield start
    for controller in controllers:
        controller.stop()


# -- SMTP relay ------------------------------------------------------------------------------


async def test_relay_delivers_envelope_and_exact_bytes(smtp_server: StartServer) -> None:
    handler = Recorder()
    port = smtp_server(handler)

    transport = SmtpRelayTransport(f"smtp://127.0.0.1:{port}", timeout=5)
    await transport.send("bounce@kefu.example", ["wang@customer.example", "li@customer.example"], DATA)

    (envelope,) = handler.envelopes
    assert envelope.mail_from == "bounce@kefu.example"
    assert envelope.rcpt_tos == ["wang@customer.example", "li@customer.example"]
    assert envelope.original_content == DATA


async def test_temporary_failure_on_data_is_transient(smtp_server: StartServer) -> None:
    port = smtp_server(TempFailData())

    with pytest.raises(TransientSendError, match="451"):
        await SmtpRelayTransport(f"smtp://127.0.0.1:{port}", timeout=5).send(
            "bounce@kefu.example", ["wang@customer.example"], DATA
        )


async def test_permanent_failure_on_data_is_permanent(smtp_server: StartServer) -> None:
    port = smtp_server(RejectData())

    with pytest.raises(PermanentSendError, match="554"):
        await SmtpRelayTransport(f"smtp://127.0.0.1:{port}", timeout=5).send(
            "bounce@kefu.example", ["wang@customer.example"], DATA
        )


async def test_unknown_recipient_is_permanent_and_not_named_in_the_error(
    smtp_server: StartServer,
) -> None:
    port = smtp_server(RejectRecipients(refused={"nobody@customer.example"}))

    with pytest.raises(PermanentSendError) as info:
        await SmtpRelayTransport(f"smtp://127.0.0.1:{port}", timeout=5).send(
            "bounce@kefu.example", ["nobody@customer.example"], DATA
        )

    assert "550" in str(info.value)
    assert "nobody@customer.example" not in str(info.value)


async def test_recipient_deferred_with_4xx_is_transient(smtp_server: StartServer) -> None:
    handler = RejectRecipients(refused={"wang@customer.example"}, reply="452 4.2.2 Mailbox full, try later")
    port = smtp_server(handler)

    with pytest.raises(TransientSendError, match="452"):
        await SmtpRelayTransport(f"smtp://127.0.0.1:{port}", timeout=5).send(
            "bounce@kefu.example", ["wang@customer.example"], DATA
        )


async def test_some_recipients_refused_still_counts_as_sent(
    smtp_server: StartServer, caplog: pytest.LogCaptureFixture
) -> None:
    # Retrying would send the mail a second time to the recipients who got it.
    handler = RejectRecipients(refused={"nobody@customer.example"})
    port = smtp_server(handler)
    caplog.set_level(logging.WARNING, logger="notifications.transports")

    await SmtpRelayTransport(f"smtp://127.0.0.1:{port}", timeout=5).send(
        "bounce@kefu.example", ["wang@customer.example", "nobody@customer.example"], DATA
    )

    assert handler.envelopes[0].rcpt_tos == ["wang@customer.example"]
    assert "refused 1 of 2" in caplog.text
    assert "nobody@customer.example" not in caplog.text


async def test_refused_sender_is_permanent(smtp_server: StartServer) -> None:
    port = smtp_server(RejectSender())

    with pytest.raises(PermanentSendError, match="553"):
        await SmtpRelayTransport(f"smtp://127.0.0.1:{port}", timeout=5).send(
            "bounce@kefu.example", ["wang@customer.example"], DATA
        )


async def test_connection_refused_is_transient() -> None:
    port = _free_port()  # nothing listens there

    with pytest.raises(TransientSendError, match="unreachable"):
        await SmtpRelayTransport(f"smtp://127.0.0.1:{port}", timeout=5).send(
            "bounce@kefu.example", ["wang@customer.example"], DATA
        )


async def test_silent_server_times_out_as_transient() -> None:
    with socket.socket() as listener:  # accepts TCP (backlog) but never greets
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]

        with pytest.raises(TransientSendError):
            await SmtpRelayTransport(f"smtp://127.0.0.1:{port}", timeout=0.5).send(
                "bounce@kefu.example", ["wang@customer.example"], DATA
            )


async def test_required_starttls_without_offer_is_transient(smtp_server: StartServer) -> None:
    handler = Recorder()
    port = smtp_server(handler)

    with pytest.raises(TransientSendError, match="STARTTLS"):
        await SmtpRelayTransport(f"smtp+starttls://127.0.0.1:{port}", timeout=5).send(
            "bounce@kefu.example", ["wang@customer.example"], DATA
        )
    assert handler.envelopes == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_login_uses_percent_decoded_credentials_and_never_logs_them(
    smtp_server: StartServer, caplog: pytest.LogCaptureFixture
) -> None:
    password = "p@ss:w%rd/1 #?"
    seen: list[tuple[bytes, bytes]] = []

    def authenticator(
        server: SMTPServer, session: Session, envelope: Envelope, mechanism: str, auth_data: object
    ) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        seen.append((auth_data.login, auth_data.password))
        ok = auth_data.login == b"kefu@kefu.example" and auth_data.password == password.encode()
        return AuthResult(success=ok, handled=False)

    handler = Recorder()
    port = smtp_server(handler, authenticator=authenticator, auth_require_tls=False, auth_required=True)
    user = quote("kefu@kefu.example", safe="")
    url = f"smtp://{user}:{quote(password, safe='')}@127.0.0.1:{port}"
    transport = SmtpRelayTransport(url, timeout=5)
    caplog.set_level(logging.DEBUG)

    await transport.send("bounce@kefu.example", ["wang@customer.example"], DATA)

    assert seen[-1] == (b"kefu@kefu.example", password.encode())
    assert len(handler.envelopes) == 1
    for text in (caplog.text, repr(transport), repr(transport.settings)):
        assert password not in text and quote(password, safe="") not in text
    assert "***" in repr(transport)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_wrong_password_is_transient_and_redacted(smtp_server: StartServer) -> None:
    # A relay account problem is ours to fix; the queued mail must survive until we do.
    def refuse(*args: object) -> AuthResult:
        return AuthResult(success=False, handled=False)  # handled=False: aiosmtpd answers 535

    port = smtp_server(
        Recorder(), authenticator=refuse, auth_require_tls=False, auth_required=True, auth_exclude_mechanism=["LOGIN"]
    )

    with pytest.raises(TransientSendError, match="535") as info:
        await SmtpRelayTransport(f"smtp://user:hunter2@127.0.0.1:{port}", timeout=5).send(
            "bounce@kefu.example", ["wang@customer.example"], DATA
        )

    assert "hunter2" not in str(info.value)


async def test_relay_without_recipients_is_permanent() -> None:
    with pytest.raises(PermanentSendError):
        await SmtpRelayTransport("smtp://127.0.0.1:1").send("bounce@kefu.example", [], DATA)


# -- relay URLs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "port", "starttls"),
    [
        ("smtp://relay.example", 25, "auto"),
        ("smtp://relay.example?starttls=never", 25, "never"),
        ("smtp+starttls://relay.example", 587, "required"),
        ("smtps://relay.example", 465, "implicit"),
        ("SMTPS://Relay.Example:2465/", 2465, "implicit"),
    ],
)
def test_relay_url_defaults(url: str, port: int, starttls: str) -> None:
    settings = parse_relay_url(url)

    assert settings.host == "relay.example"
    assert settings.port == port
    assert settings.starttls == starttls
    assert settings.username is None and settings.password is None


@pytest.mark.parametrize(
    "url",
    [
        "http://relay.example",
        "smtp://",
        "smtp://relay.example/path",
        "smtp://relay.example:notaport",
        "smtp://relay.example?starttls=maybe",
        "smtps://relay.example?starttls=auto",
        "smtp://relay.example?verify=no",
    ],
)
def test_bad_relay_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError):
        parse_relay_url(url)


def test_non_ascii_credentials_are_refused_at_start_up() -> None:
    with pytest.raises(ValueError, match="ASCII"):
        parse_relay_url(f"smtp://user:{quote('密码')}@relay.example")


def test_bad_relay_url_error_does_not_show_the_password() -> None:
    with pytest.raises(ValueError) as info:
        parse_relay_url("smtp://user:s3cret@relay.example:bad")

    assert "s3cret" not in str(info.value)


def test_no_url_means_folder_transport(tmp_path: Path) -> None:
    assert isinstance(transport_from_url(None, tmp_path), FolderTransport)
    assert isinstance(transport_from_url("  ", tmp_path), FolderTransport)
    relay = transport_from_url("smtps://u:pw@relay.example", tmp_path)
    assert isinstance(relay, SmtpRelayTransport)
    assert repr(relay) == "SmtpRelayTransport('smtps://u:***@relay.example:465')"


# -- folder ----------------------------------------------------------------------------------


def _clock(*times: datetime) -> Callable[[], datetime]:
    pending = list(times)
    return lambda: pending.pop(0)


async def test_folder_transport_writes_exact_bytes_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = tmp_path / "var" / "outbox"  # created on first use
    caplog.set_level(logging.INFO, logger="notifications.transports")
    when = datetime(2026, 3, 15, 1, 30, 5, 123456, tzinfo=UTC)

    await FolderTransport(folder, clock=_clock(when)).send("bounce@kefu.example", ["wang@customer.example"], DATA)

    (written,) = list(folder.iterdir())  # no temporary file left behind
    assert re.fullmatch(r"20260315T013005\.123456Z-[0-9a-f]{12}\.eml", written.name)
    assert written.read_bytes() == DATA  # no envelope lines added
    assert f"wrote outgoing mail to {written} (message <kefu.t.1@kefu.example>)" in caplog.text


async def test_folder_transport_names_sort_by_time_and_do_not_collide(tmp_path: Path) -> None:
    start = datetime(2026, 3, 15, 9, 30, tzinfo=UTC)
    transport = FolderTransport(tmp_path, clock=_clock(start, start + timedelta(seconds=1)))

    await transport.send("bounce@kefu.example", ["a@customer.example"], DATA)
    await transport.send("bounce@kefu.example", ["b@customer.example"], DATA)

    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == 2
    assert names[0].startswith("20260315T093000") and names[1].startswith("20260315T093001")


async def test_folder_transport_write_failure_is_transient(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "outbox"
    not_a_folder.write_text("a file where the folder should be")

    with pytest.raises(TransientSendError):
        await FolderTransport(not_a_folder).send("bounce@kefu.example", ["a@b.example"], DATA)
