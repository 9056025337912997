"""PIPELINING (RFC 2920): kefu offers it and answers a pipelined group in order, over real
sockets; and kefu offers CHUNKING with it (the BDAT protocol itself: tests/test_smtp_chunking.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bench.smtp_client import PipeliningSender, crlf, stuffed
from cases.settings import Settings
from cases.store.models import InboundRaw
from intake.smtp_data import ChunkedDataSMTP
from kefu.bootstrap import Kefu
from tests.conftest import ListTransport
from tests.served import served
from tests.smtp_wire import Handler, codes, converse

MAIL = (
    b"From: li.na@chery-parts.cn\r\nTo: service@kefu.example\r\nSubject: pipelined\r\n"
    b"Message-ID: <pipe-1@chery-parts.cn>\r\n\r\n.leading dot\r\nbody\r\n"
)


@pytest.fixture
async def recorded() -> AsyncIterator[tuple[int, Handler]]:
    handler = Handler()
    server = await asyncio.get_running_loop().create_server(
        lambda: ChunkedDataSMTP(handler, hostname="test.example", decode_data=False), "127.0.0.1", 0
    )
    try:
        yield server.sockets[0].getsockname()[1], handler
    finally:
        server.close()
        await server.wait_closed()


async def test_a_pipelined_group_is_answered_in_order(recorded: tuple[int, Handler]) -> None:
    port, handler = recorded
    group = (
        b"MAIL FROM:<li.na@chery-parts.cn>\r\nRCPT TO:<service@kefu.example>\r\n"
        b"RCPT TO:<service+fb@kefu.example>\r\nDATA\r\n"
    )
    answers = await converse(port, b"EHLO client.example\r\n", group, stuffed(MAIL), b"QUIT\r\n")
    assert [codes(a) for a in answers] == [[b"220"], [b"250"], [b"250", b"250", b"250", b"354"], [b"250"], [b"221"]]
    assert handler.got == [("li.na@chery-parts.cn", ["service@kefu.example", "service+fb@kefu.example"], MAIL)]


async def test_an_error_in_a_group_is_answered_in_its_place(recorded: tuple[int, Handler]) -> None:
    port, handler = recorded
    group = (
        b"MAIL FROM:<li.na@chery-parts.cn>\r\nRCPT TO:<nobody@kefu.example>\r\n"
        b"RCPT TO:<service@kefu.example>\r\nDATA\r\n"
    )
    answers = await converse(port, b"EHLO client.example\r\n", group, stuffed(MAIL), b"QUIT\r\n")
    assert codes(answers[2]) == [b"250", b"550", b"250", b"354"]
    assert handler.got == [("li.na@chery-parts.cn", ["service@kefu.example"], MAIL)]


async def test_a_group_whose_recipients_all_fail_gets_503_for_data_and_the_session_goes_on(
    recorded: tuple[int, Handler],
) -> None:
    port, handler = recorded
    bad = b"MAIL FROM:<a@example.cn>\r\nRCPT TO:<x@kefu.example>\r\nDATA\r\n"
    good = b"MAIL FROM:<a@example.cn>\r\nRCPT TO:<service@kefu.example>\r\nDATA\r\n"
    answers = await converse(port, b"EHLO c.example\r\n", bad, b"RSET\r\n", good, stuffed(MAIL), b"QUIT\r\n")
    assert [codes(a) for a in answers[2:]] == [
        [b"250", b"550", b"503"],
        [b"250"],
        [b"250", b"250", b"354"],
        [b"250"],
        [b"221"],
    ]
    assert [rcpts for _, rcpts, _ in handler.got] == [["service@kefu.example"]]


async def test_quit_in_a_group_is_answered_after_the_commands_before_it(recorded: tuple[int, Handler]) -> None:
    port, _ = recorded
    answers = await converse(port, b"EHLO c.example\r\n", b"MAIL FROM:<a@example.cn>\r\nNOOP\r\nQUIT\r\n")
    assert codes(answers[-1]) == [b"250", b"250", b"221"]


async def test_lock_step_commands_are_answered_one_by_one(recorded: tuple[int, Handler]) -> None:
    port, _ = recorded
    answers = await converse(
        port,
        b"EHLO c.example\r\n",
        b"MAIL FROM:<a@example.cn>\r\n",
        b"RCPT TO:<service@kefu.example>\r\n",
        b"DATA\r\n",
        stuffed(MAIL),
        b"QUIT\r\n",
    )
    assert [codes(a) for a in answers[2:]] == [[b"250"], [b"250"], [b"354"], [b"250"], [b"221"]]


@pytest.fixture
async def running(settings: Settings) -> AsyncIterator[Kefu]:
    async with served(settings, transport=ListTransport(), http=False) as kefu:
        yield kefu


@pytest.mark.parametrize("chunked", [False, True], ids=["DATA", "BDAT"])
async def test_kefu_offers_pipelining_and_chunking_and_stores_the_mail_as_sent(running: Kefu, chunked: bool) -> None:
    port = running.settings.smtp_listen[1]

    def send() -> tuple[bool, bool]:
        client = PipeliningSender("127.0.0.1", port)
        if chunked:  # the whole mail with its envelope, as BDAT LAST (RFC 3030)
            client.send_chunked("li.na@chery-parts.cn", ["service@kefu.example"], crlf(MAIL))
        else:
            client.send("li.na@chery-parts.cn", ["service@kefu.example"], stuffed(MAIL))
        client.close()
        return client.pipelining, client.chunking

    assert await asyncio.to_thread(send) == (True, True)
    async with running.db.reader() as s:
        raw = (await s.execute(select(InboundRaw.raw))).scalar_one()
    assert raw == MAIL
