"""Legacy Western mail (issue 13, item 8): a body labelled iso-8859-1 or us-ascii that carries
bytes 0x80-0x9F is windows-1252, the WHATWG Encoding Standard's rule, so €, „ and “ survive."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from cases.settings import Settings
from intake.charsets import decode_bytes
from intake.mailparse import parse_mail
from kefu.bootstrap import Kefu
from tests.conftest import Relay
from tests.mailhelpers import eventually, smtp_send
from tests.served import SocketApi as Api
from tests.served import served_with_staff

TEXT = "Sehr geehrte Damen und Herren,\n„Bremsbeläge“ mit Geräusch – Rückbelastung 1.240 € je Charge.\n"


def _mail(label: str, body: bytes, cte: str = "8bit") -> bytes:
    head = (
        "From: Jürgen Maier <j.maier@bremsen-maier.de>\r\nTo: service@kefu.example\r\n"
        "Subject: Reklamation Bremsbelag\r\nMessage-ID: <w1252-1@bremsen-maier.de>\r\n"
        f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset={label}\r\nContent-Transfer-Encoding: {cte}\r\n\r\n"
    )
    return head.encode() + body.replace(b"\n", b"\r\n")


@pytest.mark.parametrize("label", ["iso-8859-1", "ISO-8859-1", "latin1", "us-ascii", '"us-ascii"', "windows-1252"])
def test_windows_1252_bytes_under_a_latin_label_are_read_as_windows_1252(label: str) -> None:
    parsed = parse_mail(_mail(label, TEXT.encode("cp1252")))
    assert "„Bremsbeläge“" in parsed.text and "1.240 €" in parsed.text and "–" in parsed.text


def test_quoted_printable_windows_1252_under_latin_1() -> None:
    body = b"Preis =80 120, =84Qualit=E4t=93 =96 gepr=FCft\n"
    assert "Preis € 120, „Qualität“ – geprüft" in parse_mail(_mail("iso-8859-1", body, "quoted-printable")).text


def test_the_five_bytes_windows_1252_leaves_undefined_become_c1_controls() -> None:
    assert decode_bytes(b"a\x81\x8d\x8f\x90\x9db", "iso-8859-1").text == "a\x81\x8d\x8f\x90\x9db"


def test_plain_latin_1_is_unchanged_and_not_called_a_defect() -> None:
    decoded = decode_bytes("Qualität geprüft".encode("latin-1"), "iso-8859-1")
    assert decoded.text == "Qualität geprüft" and decoded.defect is None


def test_chinese_mislabelled_us_ascii_stays_chinese() -> None:
    assert (
        decode_bytes("刹车片异响，批量问题，请尽快处理".encode("gbk"), "us-ascii").text
        == "刹车片异响，批量问题，请尽快处理"
    )


@pytest.fixture
async def service(settings: Settings, relay: Relay) -> AsyncIterator[tuple[Kefu, Api]]:
    async with served_with_staff(settings, relay.port) as running:
        yield running


async def test_a_windows_1252_body_under_latin_1_reaches_the_case_intact(service: tuple[Kefu, Api]) -> None:
    kefu, api = service
    await smtp_send(kefu.settings.smtp_listen[1], _mail("iso-8859-1", TEXT.encode("cp1252")))

    async def case() -> dict[str, Any] | None:
        items = (await api.call("gm", "GET", "/cases"))["items"]
        return await api.call("gm", "GET", f"/cases/{items[0]['reference']}") if items else None

    found = await eventually(case, what="the case")
    assert "„Bremsbeläge“ mit Geräusch – Rückbelastung 1.240 €" in found["messages"][0]["body"]
    assert "„Bremsbeläge“" in found["description"]
