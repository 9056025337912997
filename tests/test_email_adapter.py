"""Who sent a mail, and where its answer goes: the first usable address of Reply-To, From and
the envelope sender; a mail with none is quarantined with the reason."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from intake.prepare import Prepared, RawRow, prepare

LONG = "a" * 250 + "@chery-parts.cn"


def _prepared(headers: str, envelope_from: str) -> Prepared:
    raw = (
        f"{headers}To: service@kefu.example\r\nSubject: 漏油\r\nMessage-ID: <m1@chery-parts.cn>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n三台车漏油。\r\n"
    ).encode()
    return prepare(RawRow(1, raw, envelope_from, ("service@kefu.example",), datetime(2026, 12, 1, tzinfo=UTC)), "FB")


@pytest.mark.parametrize(
    ("headers", "envelope_from", "sender"),
    [
        (
            "From: 李娜 <li.na@chery-parts.cn>\r\nReply-To: <quality@chery-parts.cn>\r\n",
            "bounce@mta.example",
            "quality@chery-parts.cn",
        ),
        ("From: 李娜 <li.na@chery-parts.cn>\r\nReply-To: nobody\r\n", "bounce@mta.example", "li.na@chery-parts.cn"),
        ("From: Service Dept\r\n", "Fax@GW.chery-parts.cn", "fax@gw.chery-parts.cn"),  # a name, no address
        (f"From: <{LONG}>\r\n", "li.na@chery-parts.cn", "li.na@chery-parts.cn"),  # longer than SMTP allows
    ],
    ids=["reply-to", "broken reply-to", "from is only a name", "from too long"],
)
def test_the_first_usable_address_is_the_sender(headers: str, envelope_from: str, sender: str) -> None:
    prepared = _prepared(headers, envelope_from)
    assert prepared.message is not None, prepared.reason
    assert prepared.message.sender_identity == sender


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ("From: Service Dept\r\n", "no usable From or Reply-To address and no envelope sender"),
        (f"From: <{LONG}>\r\n", "265 characters long; SMTP allows 254"),
    ],
    ids=["no address at all", "only one too long"],
)
def test_a_mail_with_no_usable_sender_is_quarantined_with_the_reason(headers: str, reason: str) -> None:
    prepared = _prepared(headers, "")  # the null envelope sender of a bounce
    assert prepared.message is None and prepared.reason is not None and reason in prepared.reason
