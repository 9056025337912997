"""The limits a mail server has (issue 17, "Hostile clients" 7): at most 100 recipients a
message, a cap on one client address's open connections, and STARTTLS when a certificate and
key are configured (a self-signed pair made here with the openssl command)."""

from __future__ import annotations

import asyncio
import shutil
import smtplib
import ssl
import subprocess
import time
from pathlib import Path

import pytest

from cases.settings import Settings
from kefu.parts import Part
from tests.conftest import ListTransport
from tests.mailhelpers import customer_mail
from tests.served import served


async def test_the_101st_recipient_is_answered_452_too_many_recipients(settings: Settings) -> None:
    async with served(settings, transport=ListTransport(), parts={Part.SMTP}) as kefu:

        def talk() -> list[tuple[int, bytes]]:
            with smtplib.SMTP("127.0.0.1", kefu.settings.smtp_listen[1], timeout=10) as c:
                c.ehlo("client.example")
                c.mail("customer@example.cn")
                return [c.rcpt(f"service+{n}@kefu.example") for n in range(101)]

        answers = await asyncio.to_thread(talk)
    assert {code for code, _ in answers[:100]} == {250}
    assert answers[100] == (452, b"4.5.3 Too many recipients")


async def test_one_client_address_holds_at_most_the_configured_connections(settings: Settings) -> None:
    async with served(settings, transport=ListTransport(), parts={Part.SMTP}, smtp_connections_per_client=2) as kefu:
        port = kefu.settings.smtp_listen[1]

        def talk() -> tuple[int, int]:
            first = smtplib.SMTP("127.0.0.1", port, timeout=10)
            second = smtplib.SMTP("127.0.0.1", port, timeout=10)
            try:
                with pytest.raises(smtplib.SMTPConnectError) as refused:
                    smtplib.SMTP("127.0.0.1", port, timeout=10)
            finally:
                first.quit()
            for _ in range(50):  # the server counts the closed one down as soon as it sees it close
                try:
                    again = smtplib.SMTP("127.0.0.1", port, timeout=10)
                    break
                except smtplib.SMTPConnectError:
                    time.sleep(0.05)
            code = again.noop()[0]
            again.quit()
            second.quit()
            return refused.value.smtp_code, code

        refused_code, later_code = await asyncio.to_thread(talk)
    assert (refused_code, later_code) == (421, 250)


@pytest.fixture
def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.fail("the openssl command is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
            *("-subj", "/CN=kefu.example", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


async def test_starttls_is_offered_with_a_certificate_and_the_mail_is_stored(
    settings: Settings, self_signed: tuple[Path, Path]
) -> None:
    cert, key = self_signed
    async with served(
        settings, transport=ListTransport(), parts={Part.SMTP}, smtp_tls_cert=str(cert), smtp_tls_key=str(key)
    ) as kefu:
        port = kefu.settings.smtp_listen[1]

        def talk() -> tuple[bool, str, dict[str, tuple[int, bytes]]]:
            client_side = ssl.create_default_context(cafile=str(cert))
            client_side.check_hostname = False
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as c:
                c.ehlo("client.example")
                offered = c.has_extn("starttls")
                c.starttls(context=client_side)
                c.ehlo("client.example")
                version = c.sock.version() if isinstance(c.sock, ssl.SSLSocket) else ""
                refused = c.send_message(
                    customer_mail("张伟 <zhang.wei@customer.example>", "加密的投诉", "漏油。", message_id="tls1@x.cn")
                )
            return offered, version or "", refused

        offered, version, refused = await asyncio.to_thread(talk)
    assert offered and version.startswith("TLS") and refused == {}


async def test_without_a_certificate_starttls_is_not_offered(settings: Settings) -> None:
    async with served(settings, transport=ListTransport(), parts={Part.SMTP}) as kefu:

        def talk() -> bool:
            with smtplib.SMTP("127.0.0.1", kefu.settings.smtp_listen[1], timeout=10) as c:
                c.ehlo("client.example")
                return c.has_extn("starttls")

        assert not await asyncio.to_thread(talk)
