"""CHUNKING (RFC 3030): kefu offers BDAT and stores the chunks byte for byte, reads a refused
chunk to its end so that its bytes are never taken for commands, and keeps the size limit;
over real sockets (intake/smtp_data.py ChunkedDataSMTP.smtp_BDAT). kefu itself offering it:
tests/test_smtp_pipelining.py."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from intake.smtp_data import ChunkedDataSMTP, bdat_args
from tests.smtp_wire import Handler, codes, converse

# Lines that DATA would have to stuff or would end at: BDAT carries them as they are.
MAIL = (
    b"From: li.na@chery-parts.cn\r\nTo: service@kefu.example\r\nSubject: chunked\r\n"
    b"Message-ID: <bdat-1@chery-parts.cn>\r\n\r\n.leading dot\r\n.\r\nQUIT\r\nbody\r\n"
)
LIMIT = 400
ENVELOPE = b"MAIL FROM:<li.na@chery-parts.cn>\r\nRCPT TO:<service@kefu.example>\r\n"


def bdat(data: bytes, last: bool = True) -> bytes:
    return b"BDAT %d%s\r\n" % (len(data), b" LAST" if last else b"") + data


@pytest.fixture
async def wire() -> AsyncIterator[tuple[int, Handler]]:
    handler = Handler()
    server = await asyncio.get_running_loop().create_server(
        lambda: ChunkedDataSMTP(handler, hostname="test.example", decode_data=False, data_size_limit=LIMIT),
        "127.0.0.1",
        0,
    )
    try:
        yield server.sockets[0].getsockname()[1], handler
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize(
    ("arg", "parsed"),
    [
        ("1024 LAST", (1024, True)),
        ("0 last", (0, True)),
        ("17", (17, False)),
        ("007", (7, False)),
        ("", None),
        (None, None),
        ("LAST", None),
        ("-1", None),
        ("12 FIRST", None),
        ("1 LAST x", None),
        ("١٢", None),  # Arabic-Indic digits: str.isdigit says yes, SMTP does not
    ],
)
def test_bdat_arguments(arg: str | None, parsed: tuple[int, bool] | None) -> None:
    assert bdat_args(arg) == parsed


async def test_envelope_and_whole_mail_in_one_packet_are_answered_in_order(wire: tuple[int, Handler]) -> None:
    port, handler = wire
    answers = await converse(port, b"EHLO c.example\r\n", (ENVELOPE + bdat(MAIL), 3), b"QUIT\r\n")
    assert [codes(a) for a in answers[2:]] == [[b"250", b"250", b"250"], [b"221"]]
    assert handler.got == [("li.na@chery-parts.cn", ["service@kefu.example"], MAIL)]  # not unstuffed, not cut


async def test_a_bounce_with_the_null_sender_comes_in_by_bdat_too(wire: tuple[int, Handler]) -> None:
    port, handler = wire
    envelope = b"MAIL FROM:<>\r\nRCPT TO:<service@kefu.example>\r\n"
    answers = await converse(port, b"EHLO mx.example\r\n", (envelope + bdat(MAIL), 3))
    assert codes(answers[2]) == [b"250", b"250", b"250"]
    assert handler.got == [("<>", ["service@kefu.example"], MAIL)]


async def test_chunks_are_joined_and_each_is_answered(wire: tuple[int, Handler]) -> None:
    port, handler = wire
    first, second = MAIL[:50], MAIL[50:]
    answers = await converse(
        port,
        b"EHLO c.example\r\n",
        ENVELOPE,
        (bdat(first, last=False), 1),
        (bdat(second, last=False) + bdat(b""), 2),
        b"QUIT\r\n",
    )
    assert answers[3].startswith(b"250 2.0.0 50 octets received")
    assert codes(answers[4]) == [b"250", b"250"]
    assert handler.got == [("li.na@chery-parts.cn", ["service@kefu.example"], MAIL)]


async def test_a_refused_chunk_is_read_to_its_end_and_never_taken_for_commands(wire: tuple[int, Handler]) -> None:
    port, handler = wire
    smuggled = b"MAIL FROM:<x@evil.example>\r\nRCPT TO:<service@kefu.example>\r\nQUIT\r\n"
    answers = await converse(
        port,
        b"EHLO c.example\r\n",
        (bdat(smuggled), 1),  # no MAIL yet
        (b"MAIL FROM:<a@example.cn>\r\n" + bdat(smuggled), 2),  # no RCPT yet
        b"NOOP\r\n",
        b"QUIT\r\n",
    )
    assert answers[2].startswith(b"503 5.5.1 Error: need MAIL")
    assert codes(answers[3]) == [b"250", b"503"] and b"need RCPT" in answers[3]
    assert codes(answers[4]) == [b"250"] and codes(answers[5]) == [b"221"]
    assert handler.got == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")  # loopback only
async def test_bdat_before_ehlo_or_without_auth_is_refused_as_data_is(wire: tuple[int, Handler]) -> None:
    port, handler = wire
    smuggled = b"RSET\r\nQUIT\r\n"
    answers = await converse(port, (bdat(smuggled), 1), b"NOOP\r\n")
    assert answers[1].startswith(b"503 Error: send HELO first") and codes(answers[2]) == [b"250"]
    assert handler.got == []
    server = await asyncio.get_running_loop().create_server(
        lambda: ChunkedDataSMTP(
            handler,
            hostname="test.example",
            decode_data=False,
            auth_required=True,
            auth_require_tls=False,
            authenticator=lambda *_: None,
        ),
        "127.0.0.1",
        0,
    )
    try:
        answers = await converse(
            server.sockets[0].getsockname()[1], b"EHLO c.example\r\n", (bdat(smuggled), 1), b"NOOP\r\n"
        )
    finally:
        server.close()
        await server.wait_closed()
    assert answers[2].startswith(b"530 5.7.0 Authentication required") and codes(answers[3]) == [b"250"]
    assert handler.got == []


async def test_too_much_data_fails_the_transaction_and_the_next_one_is_taken(wire: tuple[int, Handler]) -> None:
    port, handler = wire
    half = b"x" * (LIMIT // 2 + 1)
    answers = await converse(
        port,
        b"EHLO c.example\r\n",
        ENVELOPE,
        (bdat(half, last=False), 1),
        (bdat(half), 1),
        (bdat(b"more"), 1),
        ENVELOPE,
        (bdat(MAIL), 1),
        b"QUIT\r\n",
    )
    assert codes(answers[3]) == [b"250"]
    assert answers[4].startswith(b"552 5.3.4")
    assert answers[5].startswith(b"503 5.5.1 Error: need MAIL")  # the failed transaction is over
    assert codes(answers[7]) == [b"250"]
    assert handler.got == [("li.na@chery-parts.cn", ["service@kefu.example"], MAIL)]


async def test_data_after_bdat_is_refused_and_rset_starts_over(wire: tuple[int, Handler]) -> None:
    port, handler = wire
    answers = await converse(
        port,
        b"EHLO c.example\r\n",
        ENVELOPE,
        (bdat(b"part", last=False), 1),
        b"DATA\r\n",
        b"RSET\r\n",
        ENVELOPE,
        (bdat(MAIL), 1),
        b"QUIT\r\n",
    )
    assert answers[4].startswith(b"503 5.5.1 Error: DATA after BDAT")
    assert codes(answers[5]) == [b"250"]
    assert handler.got == [("li.na@chery-parts.cn", ["service@kefu.example"], MAIL)]  # "part" went with RSET


async def test_a_bdat_without_a_size_ends_the_session(wire: tuple[int, Handler]) -> None:
    port, handler = wire
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        await reader.readuntil(b"\r\n")
        writer.write(b"EHLO c.example\r\n" + ENVELOPE + b"BDAT LAST\r\nRCPT TO:<service+x@kefu.example>\r\n")
        rest = await asyncio.wait_for(reader.read(), 10)  # everything until the server closes
    finally:
        writer.close()
    assert codes(rest)[-1] == b"501" and rest.endswith(b"501 5.5.4 Syntax: BDAT <size> [LAST]\r\n")
    assert handler.got == []


async def test_a_connection_lost_inside_a_chunk_delivers_nothing(wire: tuple[int, Handler]) -> None:
    port, handler = wire
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    await reader.readuntil(b"\r\n")
    writer.write(b"EHLO c.example\r\n" + ENVELOPE + b"BDAT 100 LAST\r\n" + MAIL[:60])
    await writer.drain()
    writer.close()
    await asyncio.sleep(0.2)
    assert handler.got == []
    answers = await converse(port, b"EHLO c.example\r\n", (ENVELOPE + bdat(MAIL), 3))  # the server goes on
    assert codes(answers[2]) == [b"250", b"250", b"250"] and len(handler.got) == 1
