"""Mail whose values PostgreSQL would refuse, over SMTP into cases, on SQLite and PostgreSQL.

PostgreSQL enforces a column's length and refuses a NUL in text, where SQLite keeps both: an
overlong or NUL-bearing Message-ID or envelope sender once failed the whole group commit of
the SMTP store (every sender of the batch got 451, and the mail itself could never be stored),
an overlong display name or sender address, or a NUL in a subject, failed the case. Values
that only describe the mail are clipped to fit, NULs dropped; a sender address longer than
SMTP allows (254 characters) cannot be answered, and with no other address the mail is held
with the reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from cases.settings import Settings
from cases.store.models import Attachment, Case, CaseHistory, CaseMessage, Contact, InboundMessage
from kefu.bootstrap import Kefu
from tests.conftest import ListTransport
from tests.mailhelpers import eventually, smtp_send
from tests.served import served

LONG_ID = "x" * 700 + "@dfmc-parts.cn"
LONG_ADDRESS = "li.na." + "n" * 180 + "@chery-parts.cn"  # 201 characters: fits an identity, not a history actor
NAME = "张" * 300


@pytest.fixture
async def running(settings: Settings) -> AsyncIterator[Kefu]:
    async with served(settings, transport=ListTransport(), http=False) as kefu:
        yield kefu


def _mail(
    sender: str, subject: str, *, message_id: str, in_reply_to: str | None = None, attachment_type: str | None = None
) -> bytes:
    head = (
        f"From: {_encoded_words(NAME)}\r\n <{sender}>\r\nTo: service@kefu.example\r\n"
        f"Subject: {subject}\r\nMessage-ID: <{message_id}>\r\nMIME-Version: 1.0\r\n"
    )
    if in_reply_to:
        head += f"In-Reply-To: <{in_reply_to}>\r\n"
    if attachment_type is None:
        return (head + "Content-Type: text/plain; charset=utf-8\r\n\r\nOil leak on 3 trucks.\r\n").encode()
    return (
        head + 'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
        "Content-Type: text/plain; charset=utf-8\r\n\r\nOil leak on 3 trucks.\r\n--b\r\n"
        f'Content-Type: {attachment_type}; name="report.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        "JVBERi0xLjQ=\r\n--b--\r\n"
    ).encode()


def _encoded_words(text: str) -> str:
    """RFC 2047 words of 15 characters, one to a folded line (the header's lines stay short)."""
    import base64

    return "\r\n ".join(
        f"=?utf-8?b?{base64.b64encode(text[i : i + 15].encode()).decode()}?=" for i in range(0, len(text), 15)
    )


async def test_overlong_values_are_clipped_to_fit_and_the_mail_becomes_a_case_a_reply_can_find(running: Kefu) -> None:
    port = running.settings.smtp_listen[1]
    long_envelope = "bounce-" + "b" * 300 + "@lists.example"
    await asyncio.gather(  # in one group commit with an ordinary mail, which must not be held back
        smtp_send(
            port,
            _mail(LONG_ADDRESS, "Leak", message_id=LONG_ID, attachment_type="application/x-" + "y" * 200),
            sender=long_envelope,
        ),
        smtp_send(port, _mail("wang@dfmc-parts.cn", "Other", message_id="plain@dfmc-parts.cn")),
    )
    await eventually(lambda: _none_pending(running, 2), what="the two mails processed")
    await smtp_send(port, _mail(LONG_ADDRESS, "Re: Leak", message_id="reply@chery-parts.cn", in_reply_to=LONG_ID))
    await eventually(lambda: _none_pending(running, 3), what="the reply processed")
    async with running.db.reader() as s:
        rows = (
            await s.execute(
                select(InboundMessage.status, InboundMessage.message_id, InboundMessage.envelope_from).order_by(
                    InboundMessage.id
                )
            )
        ).all()
        cases = (await s.execute(select(Case.id, Case.subject).order_by(Case.id))).all()
        messages = (
            await s.execute(
                select(CaseMessage.case_id, CaseMessage.message_id, CaseMessage.sender)
                .where(CaseMessage.direction == "in")
                .order_by(CaseMessage.id)
            )
        ).all()
        names = set((await s.execute(select(Contact.name))).scalars())
        actors = set((await s.execute(select(CaseHistory.actor))).scalars())
        types = list((await s.execute(select(Attachment.content_type))).scalars())
    assert [r.status for r in rows] == ["processed"] * 3
    long_row = next(r for r in rows if r.message_id and r.message_id.startswith("xxx"))
    assert long_row.message_id == LONG_ID[:500] and long_row.envelope_from == long_envelope[:254]
    assert sorted(subject for _, subject in cases) == ["Leak", "Other"]
    leak = next(case_id for case_id, subject in cases if subject == "Leak")
    assert [(m.message_id, m.sender) for m in messages if m.case_id == leak] == [
        (LONG_ID[:500], LONG_ADDRESS),
        ("reply@chery-parts.cn", LONG_ADDRESS),
    ]  # the reply found it
    assert NAME[:200] in names
    assert f"customer:{LONG_ADDRESS}"[:120] in actors
    assert types == [("application/x-" + "y" * 200)[:120]]


async def test_a_sender_address_longer_than_smtp_allows_and_no_other_is_held_with_the_reason(running: Kefu) -> None:
    port = running.settings.smtp_listen[1]
    too_long = "a" * 250 + "@chery-parts.cn"
    # the null envelope sender: no other address to answer (tests/test_email_adapter.py has the rest)
    await smtp_send(port, _mail(too_long, "Leak", message_id="too-long@chery-parts.cn"), sender="")
    await eventually(lambda: _none_pending(running, 1), what="the mail processed")
    async with running.db.reader() as s:
        status, reason = (await s.execute(select(InboundMessage.status, InboundMessage.reason))).one()
        cases = (await s.execute(select(Case.id))).all()
    assert status == "quarantined" and reason is not None and "SMTP allows 254" in reason
    assert cases == []


async def _none_pending(kefu: Kefu, stored: int) -> bool:
    async with kefu.db.reader() as s:
        statuses = list((await s.execute(select(InboundMessage.status))).scalars())
    return len(statuses) == stored and "pending" not in statuses


NUL_MAIL = (
    b"From: =?utf-8?q?Li=00Na?= <li.na@chery-parts.cn>\r\nTo: service@kefu.example\r\n"
    b"Subject: =?utf-8?q?Leak=00here?=\r\nMessage-ID: <nul\x00id@chery-parts.cn>\r\n"
    b"References: <ref\x00x@a.cn>\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
    b"Content-Type: text/html; charset=utf-8\r\n\r\n<p>Oil\x00 leak here</p>\r\n--b\r\n"
    b'Content-Type: application/p\x00df; name="a\x00.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
    b"JVBERi0xLjQ=\r\n--b--\r\n"
)


async def test_nuls_in_headers_and_body_are_dropped_and_the_mail_becomes_a_case(running: Kefu) -> None:
    port = running.settings.smtp_listen[1]
    await asyncio.gather(  # in one group commit with an ordinary mail, which must not be held back
        smtp_send(port, NUL_MAIL),
        smtp_send(port, _mail("wang@dfmc-parts.cn", "Other", message_id="plain@dfmc-parts.cn")),
    )
    await eventually(lambda: _none_pending(running, 2), what="the two mails processed")
    async with running.db.reader() as s:
        statuses = list((await s.execute(select(InboundMessage.status))).scalars())
        ids = set((await s.execute(select(InboundMessage.message_id))).scalars())
        subjects = set((await s.execute(select(Case.subject))).scalars())
        body = (
            await s.execute(select(CaseMessage.body).where(CaseMessage.message_id == "nulid@chery-parts.cn"))
        ).scalar_one()
        names = set((await s.execute(select(Contact.name))).scalars())
        types = list((await s.execute(select(Attachment.content_type))).scalars())
    assert statuses == ["processed", "processed"]
    assert "nulid@chery-parts.cn" in ids and subjects == {"Leakhere", "Other"}
    assert body == "Oil leak here" and "LiNa" in names and types == ["application/pdf"]
