"""SMTP over a real socket, byte for byte: a handler that keeps what it was given, and a client
that sends groups of commands in one write."""

from __future__ import annotations

import asyncio
from typing import Any

from aiosmtpd.smtp import SMTP


class Handler:
    def __init__(self) -> None:
        self.got: list[tuple[str, list[str], bytes]] = []

    async def handle_RCPT(self, server: SMTP, session: Any, envelope: Any, address: str, options: Any) -> str:
        if not address.startswith(("service@", "service+")):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Any) -> str:
        self.got.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 2.0.0 stored"


async def converse(port: int, *groups: bytes | tuple[bytes, int]) -> list[bytes]:
    """Send each group in one write, once every reply to the one before has come. Returns the
    replies to the greeting and to each group, each as the bytes that came. A group expects a
    reply per line, or one after DATA's terminator; ``(group, n)`` expects n (BDAT chunks)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        answers = [await asyncio.wait_for(reader.readuntil(b"\r\n"), 10)]  # the greeting
        for item in groups:
            group, expected = (
                item if isinstance(item, tuple) else (item, 1 if item.endswith(b"\r\n.\r\n") else item.count(b"\r\n"))
            )  # data: one reply
            writer.write(group)
            await writer.drain()
            got, answer = 0, b""
            while got < expected:
                line = await asyncio.wait_for(reader.readuntil(b"\r\n"), 10)
                answer += line
                got += line[3:4] == b" "  # the last line of a reply
            answers.append(answer)
        return answers
    finally:
        writer.close()


def codes(answer: bytes) -> list[bytes]:
    return [line[:3] for line in answer.split(b"\r\n") if line[3:4] == b" "]
