"""DATA read in chunks (intake/smtp_data.py) behaves exactly as aiosmtpd's line-by-line DATA.

Two kinds of proof, both over real sockets on loopback: the same bytes sent to aiosmtpd's own
SMTP class and to ChunkedDataSMTP give the same replies and the same content, whole, byte by
byte and in odd chunks; and kefu's real intake (kefu.bootstrap.start) stores exactly the bytes sent,
after dot-unstuffing, answers 552/500 only after the terminator, and keeps the session usable.
"""

from __future__ import annotations

import asyncio
import base64
import random
import smtplib
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP
from sqlalchemy import select

from cases.settings import Settings
from cases.store.models import InboundMessage, InboundRaw
from intake.smtp_data import ChunkedDataSMTP, partial_terminator
from kefu.bootstrap import Kefu
from tests.conftest import ListTransport
from tests.served import served

END = b"\r\n.\r\n"


def envelope(body: bytes, sender: bytes = b"a@example.cn") -> bytes:
    """MAIL, RCPT, DATA and `body` (dot-stuffed by the caller, ending with the terminator)."""
    return b"MAIL FROM:<" + sender + b">\r\nRCPT TO:<service@kefu.example>\r\nDATA\r\n" + body


def script(*bodies: bytes) -> bytes:
    return b"EHLO client.example\r\n" + b"".join(envelope(b) for b in bodies) + b"RSET\r\nQUIT\r\n"


def whole(data: bytes) -> Iterator[bytes]:
    yield data


def bytewise(data: bytes) -> Iterator[bytes]:
    for i in range(len(data)):
        yield data[i : i + 1]


def chunks_of(*sizes: int) -> Callable[[bytes], Iterator[bytes]]:
    def split(data: bytes) -> Iterator[bytes]:
        i, n = 0, 0
        while i < len(data):
            size = sizes[n % len(sizes)]
            yield data[i : i + size]
            i, n = i + size, n + 1

    return split


async def talk(
    port: int, data: bytes, split: Callable[[bytes], Iterator[bytes]] = whole, hang_up: bool = False
) -> bytes:
    """Send `data` in the pieces `split` makes (one TCP write each) and read every reply;
    `hang_up`: then close our side, as a client that dies in the middle of DATA."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for piece in split(data):
            writer.write(piece)
            await writer.drain()
            await asyncio.sleep(0)  # let the server read this piece on its own
        if hang_up:
            await asyncio.sleep(0.05)
            writer.write_eof()
        return await asyncio.wait_for(reader.read(), 30)  # the server closes after QUIT
    finally:
        writer.close()


# -- aiosmtpd's class and ours, side by side --------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.got: list[tuple[Any, ...]] = []

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Any) -> str:
        self.got.append((envelope.mail_from, tuple(envelope.rcpt_tos), envelope.original_content, envelope.content))
        return "250 OK"


async def _serve(cls: type[SMTP], limit: int, decode: bool) -> tuple[Recorder, asyncio.base_events.Server]:
    handler = Recorder()
    server = await asyncio.get_running_loop().create_server(
        lambda: cls(handler, hostname="test.example", data_size_limit=limit, enable_SMTPUTF8=True, decode_data=decode),
        "127.0.0.1",
        0,
    )
    return handler, server


async def both(
    data: bytes,
    split: Callable[[bytes], Iterator[bytes]],
    limit: int = 3000,
    decode: bool = False,
    hang_up: bool = False,
) -> tuple[tuple[bytes, list[Any]], tuple[bytes, list[Any]]]:
    results = []
    for cls in (SMTP, ChunkedDataSMTP):
        handler, server = await _serve(cls, limit, decode)
        try:
            replies = await talk(server.sockets[0].getsockname()[1], data, split, hang_up)
        finally:
            server.close()
            await server.wait_closed()
        results.append((replies, handler.got))
    return results[0], results[1]


LINE = b"x" * 997 + b"\r\n"  # 999 bytes with CRLF
BODIES: dict[str, bytes] = {
    "empty": b".\r\n",
    "plain": b"Subject: hi\r\n\r\nhello\r\n.\r\n",
    "dots": b"..leading dot\r\n..\r\n...\r\n. space\r\n.x\r\n.\r\n",
    "dot-ended lines": b"a.\r\nend.\r\nx. .\r\n a.\r\n.\r\n",
    "terminator after first line": b"only line\r\n.\r\n",
    "empty first line": b"\r\n.\r\n",
    "empty lines": b"\r\n\r\n\r\n.\r\n",
    "bare CR and LF": b"a\rb\nc\r\r\n\n.\r\n\r.\r\n.\r.\r\n.\n\r\n.\r\n",
    "almost terminators": b"x\r\n.\r\r\n.\n\r\n\r\n. \r\n\r\n.\r\n",
    "8-bit and UTF-8": bytes(b for b in range(256) if b not in (10, 13)) + "\r\n转向器漏油 ÄÖ\r\n".encode() + END[2:],
    "line 1001 with CRLF": b"x" * 999 + b"\r\n.\r\n",
    "line 1002 with CRLF": b"x" * 1000 + b"\r\n.\r\n",
    "line 1003 with CRLF": b"x" * 1001 + b"\r\n.\r\n",
    "line 1004 with CRLF": b"x" * 1002 + b"\r\n.\r\n",
    "line 2000": b"y" * 2000 + b"\r\n.\r\n",
    "long line ending in dot": b"z" * 3000 + b".\r\n.\r\n",
    "long line then CR": b"z" * 1500 + b"\r\r\n.\r\n",
    "exactly the limit": b"",  # set below: 3000 bytes of data
    "one over the limit": LINE * 3 + b"x" * 2 + b"\r\n.\r\n",
    "far over the limit": LINE * 20 + b".\r\n",
    "long line then too much": b"y" * 1200 + b"\r\n" + LINE * 5 + b".\r\n",
    "too much then long line": LINE * 4 + b"y" * 1200 + b"\r\n.\r\n",
    "1002-line crossing the limit": LINE * 2 + b"x" * 1000 + b"\r\n.\r\n",
    "1004-line crossing the limit": LINE * 2 + b"x" * 1002 + b"\r\n.\r\n",
}
BODIES["exactly the limit"] = LINE * 3 + b"x" * (3000 - 3 * len(LINE) - 2) + b"\r\n.\r\n"


@pytest.mark.parametrize(
    "split",
    [whole, chunks_of(7), chunks_of(1, 2, 3, 5), chunks_of(1000, 3, 1003)],
    ids=["whole", "7", "1-2-3-5", "1000-3-1003"],
)
@pytest.mark.parametrize("name", list(BODIES))
async def test_same_replies_and_content_as_aiosmtpd(name: str, split: Callable[[bytes], Iterator[bytes]]) -> None:
    data = script(BODIES[name], b"after\r\n.\r\n")
    theirs, ours = await both(data, split)
    assert ours == theirs
    assert b"354 End data" in ours[0]


@pytest.mark.parametrize(
    "name",
    [
        "dots",
        "dot-ended lines",
        "bare CR and LF",
        "almost terminators",
        "empty",
        "line 1002 with CRLF",
        "8-bit and UTF-8",
    ],
)
async def test_same_as_aiosmtpd_sent_byte_by_byte(name: str) -> None:
    theirs, ours = await both(script(BODIES[name], b".\r\n"), bytewise)
    assert ours == theirs


def _random_body(rng: random.Random) -> bytes:
    tokens = [b"a", b".", b"..", b"\r", b"\n", b"\r\n", b"\r\n.", b" ", "é".encode(), b"x" * 500, b"y" * 1003]
    body = b"".join(rng.choice(tokens) for _ in range(rng.randrange(0, 40)))
    return body.replace(END, b"\r\n..\r\n") + END if body else b".\r\n"


@pytest.mark.parametrize("seed", range(12))
async def test_random_bodies_match_aiosmtpd(seed: int) -> None:
    rng = random.Random(seed)
    bodies = [_random_body(rng) for _ in range(4)]
    for split in (whole, chunks_of(rng.randrange(1, 9), rng.randrange(1, 1100))):
        theirs, ours = await both(script(*bodies), split, limit=rng.choice([0, 1200, 3000]))
        assert ours == theirs, bodies


async def test_decode_data_and_a_big_attachment_match_aiosmtpd() -> None:
    blob = base64.encodebytes(random.Random(1).randbytes(300_000)).replace(b"\n", b"\r\n")
    body = "Subject: 附件\r\n\r\n中文\r\n..dot\r\n".encode() + blob + b".\r\n"
    for decode in (False, True):
        theirs, ours = await both(script(body), chunks_of(65536, 4093), limit=2**25, decode=decode)
        assert ours == theirs and ours[1][0][2].startswith("Subject: 附件".encode())


async def test_commands_before_rcpt_and_arguments_get_aiosmtpd_replies() -> None:
    data = (
        b"DATA\r\nEHLO c\r\nDATA\r\nMAIL FROM:<a@b.cn>\r\nDATA\r\n"
        b"RCPT TO:<s@kefu.example>\r\nDATA x\r\nDATA\r\nok\r\n.\r\nQUIT\r\n"
    )
    theirs, ours = await both(data, whole)
    assert ours == theirs
    assert b"503 Error: need RCPT command" in ours[0] and b"501 Syntax: DATA" in ours[0]


@pytest.mark.parametrize(
    "cut", [b"", b"half a line", b"a line\r\n", b"a line\r\n.", b"a line\r\n.\r", b"x" * 1500, b"x" * 1500 + b"\r\n"]
)
async def test_a_client_hanging_up_in_data_delivers_nothing_like_aiosmtpd(cut: bytes) -> None:
    data = b"EHLO c\r\n" + envelope(b"ok\r\n.\r\n") + envelope(cut)
    theirs, ours = await both(data, chunks_of(5), hang_up=True)
    assert ours == theirs and len(ours[1]) == 1


async def test_the_bench_corpus_sent_by_smtplib_arrives_as_with_aiosmtpd() -> None:
    from bench.corpus import generate_corpus

    corpus = generate_corpus(300)
    got = []
    for cls in (SMTP, ChunkedDataSMTP):
        handler, server = await _serve(cls, 2**25, False)
        port = server.sockets[0].getsockname()[1]

        def send(port: int = port) -> None:
            with smtplib.SMTP("127.0.0.1", port, timeout=30) as c:
                for m in corpus:
                    c.sendmail(m.sender, list(m.recipients), m.data)

        try:
            await asyncio.to_thread(send)
        finally:
            server.close()
            await server.wait_closed()
        got.append(handler.got)
    assert len(got[1]) == len(corpus) and got[1] == got[0]


def test_partial_terminator_is_the_longest_beginning_of_crlf_dot_crlf() -> None:
    assert [partial_terminator(t) for t in (b"abcd", b"abc\r", b"ab\r\n", b"b\r\n.", b"\r\n.\r", b"\r\n\r\n")] == [
        0,
        1,
        2,
        3,
        4,
        2,
    ]


# -- kefu's real intake ---------------------------------------------------------------------


@pytest.fixture
async def running(settings: Settings) -> AsyncIterator[Kefu]:
    async with served(settings, transport=ListTransport(), http=False, max_message_bytes=20_000) as kefu:
        yield kefu


def mail(n: str, body: bytes) -> bytes:
    """A mail as it travels in DATA (dot-stuffed lines are the caller's), without terminator."""
    return (
        f"From: li.na@chery-parts.cn\r\nTo: service@kefu.example\r\nSubject: 测试 {n}\r\n"
        f"Message-ID: <{n}@chery-parts.cn>\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Transfer-Encoding: 8bit\r\n\r\n"
    ).encode() + body


async def stored(kefu: Kefu) -> dict[str | None, bytes]:
    async with kefu.db.reader() as s:
        rows = (
            await s.execute(
                select(InboundMessage.message_id, InboundRaw.raw).join(
                    InboundRaw, InboundRaw.inbound_id == InboundMessage.id
                )
            )
        ).all()
    return {m: r for m, r in rows}


def codes(replies: bytes) -> list[bytes]:
    return [line[:3] for line in replies.split(b"\r\n") if line[3:4] == b" "]


STUFFED = (
    ("..leading dot\r\n..\r\na.\r\nEnde des Satzes.\r\n中文句号。\r\n8-bit: \xe9\r\n").encode()
    + b"\xb6\xe0\xc4\xda\xc8\xdd gbk\r\n"
    + b"last.\r\n"
)
UNSTUFFED = b"\r\n".join(line[1:] if line.startswith(b".") else line for line in STUFFED.split(b"\r\n"))


@pytest.mark.parametrize(
    "split", [whole, bytewise, chunks_of(3, 1, 4, 1, 5, 9, 2, 6)], ids=["whole", "bytewise", "odd"]
)
async def test_dot_stuffed_8bit_mail_is_stored_exactly_unstuffed(running: Kefu, split: Any) -> None:
    port = running.settings.smtp_listen[1]
    sent = mail("dots", STUFFED)
    replies = await talk(port, script(sent + END), split)
    assert codes(replies)[-3:] == [b"250", b"250", b"221"], replies
    raw = (await stored(running))["dots@chery-parts.cn"]
    assert raw == mail("dots", UNSTUFFED) + b"\r\n"
    assert b"\r\n.leading dot\r\n.\r\na.\r\n" in raw


async def test_pipelined_mails_in_one_write_are_both_stored(running: Kefu) -> None:
    port = running.settings.smtp_listen[1]
    one, two = mail("p1", b"first body.\r\n"), mail("p2", "第二封\r\n".encode())
    replies = await talk(port, script(one + END, two + END))
    assert codes(replies) == [
        b"220",
        b"250",
        b"250",
        b"250",
        b"354",
        b"250",
        b"250",
        b"250",
        b"354",
        b"250",
        b"250",
        b"221",
    ], replies
    got = await stored(running)
    assert got["p1@chery-parts.cn"] == one + b"\r\n" and got["p2@chery-parts.cn"] == two + b"\r\n"


async def test_terminator_split_across_writes_ends_the_mail_not_the_session(running: Kefu) -> None:
    port = running.settings.smtp_listen[1]
    splits = [bytewise, chunks_of(2), chunks_of(3), chunks_of(4), chunks_of(5, 1)]
    for n, split in enumerate(splits):
        replies = await talk(port, script(mail(f"split{n}", b"a.\r\n.a\r\n") + END), split)
        assert codes(replies)[-3:] == [b"250", b"250", b"221"], replies
    got = await stored(running)
    for n in range(len(splits)):
        assert got[f"split{n}@chery-parts.cn"] == mail(f"split{n}", b"a.\r\na\r\n") + b"\r\n"


async def test_too_much_data_is_552_after_data_and_the_session_goes_on(running: Kefu) -> None:
    port = running.settings.smtp_listen[1]
    big = mail("big", b"0123456789" * 40 + b"\r\n") * 60  # ~30 KB > 20 000
    small = mail("small", b"fits\r\n")
    replies = await talk(port, script(big + END, small + END))
    assert codes(replies) == [
        b"220",
        b"250",
        b"250",
        b"250",
        b"354",
        b"552",
        b"250",
        b"250",
        b"354",
        b"250",
        b"250",
        b"221",
    ], replies
    assert b"552 Error: Too much mail data" in replies
    got = await stored(running)
    assert "big@chery-parts.cn" not in got and got["small@chery-parts.cn"] == small + b"\r\n"


async def test_a_2000_character_line_is_500_after_data(running: Kefu) -> None:
    port = running.settings.smtp_listen[1]
    replies = await talk(
        port, script(mail("long", b"w" * 2000 + b"\r\n") + END, mail("short", b"ok\r\n") + END), chunks_of(512)
    )
    assert b"500 Line too long (see RFC5321 4.5.3.1.6)" in replies
    assert codes(replies)[4:6] == [b"354", b"500"] and codes(replies)[-3:] == [b"250", b"250", b"221"]
    got = await stored(running)
    assert "long@chery-parts.cn" not in got and "short@chery-parts.cn" in got


async def test_an_empty_message_is_answered_and_the_session_goes_on(running: Kefu) -> None:
    port = running.settings.smtp_listen[1]
    replies = await talk(port, script(b".\r\n", mail("after-empty", b"x\r\n") + END))
    assert codes(replies)[4] == b"354" and codes(replies)[-3:] == [b"250", b"250", b"221"], replies
    assert "after-empty@chery-parts.cn" in await stored(running)


async def test_a_megabyte_base64_attachment_is_stored_byte_for_byte(settings: Settings) -> None:
    async with served(settings, transport=ListTransport(), http=False) as kefu:
        blob = base64.encodebytes(random.Random(7).randbytes(750_000)).replace(b"\n", b"\r\n")
        body = (
            b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b1\r\n\r\n--b1\r\n"
            b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
            + "图纸见附件。\r\n".encode()
            + b"--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
            b'Content-Disposition: attachment; filename="a.bin"\r\n\r\n' + blob + b"--b1--\r\n"
        )
        sent = mail("mb", body).replace(
            b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n", b"", 1
        )
        assert len(sent) > 1_000_000
        replies = await talk(settings.smtp_listen[1], script(sent + END), chunks_of(65536, 1447))
        assert codes(replies)[-3:] == [b"250", b"250", b"221"], replies[-300:]
        assert (await stored(kefu))["mb@chery-parts.cn"] == sent + b"\r\n"
