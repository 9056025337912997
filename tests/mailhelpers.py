"""Helpers for tests that talk SMTP and read what kefu sent."""

from __future__ import annotations

import asyncio
import email
import email.policy
import smtplib
import time
from collections.abc import Awaitable, Callable
from email.message import EmailMessage
from typing import Any, TypeVar, overload

T = TypeVar("T")


def customer_mail(
    sender: str,
    subject: str,
    body: str,
    *,
    message_id: str,
    to: str = "service@kefu.example",
    in_reply_to: str | None = None,
    headers: dict[str, str] | None = None,
) -> EmailMessage:
    m = EmailMessage()
    m["From"] = sender
    m["To"] = to
    m["Subject"] = subject
    m["Message-ID"] = f"<{message_id}>"
    if in_reply_to:
        m["In-Reply-To"] = f"<{in_reply_to}>"
        m["References"] = f"<{in_reply_to}>"
    for k, v in (headers or {}).items():
        m[k] = v
    m.set_content(body)
    return m


async def smtp_send(
    port: int,
    msg: EmailMessage | bytes,
    sender: str = "customer@example.cn",
    rcpts: tuple[str, ...] = ("service@kefu.example",),
) -> dict:  # type: ignore[type-arg]
    def send() -> dict:  # type: ignore[type-arg]
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            if isinstance(msg, bytes):
                return client.sendmail(sender, list(rcpts), msg)
            return client.send_message(msg)

    return await asyncio.to_thread(send)


def parse(data: bytes) -> EmailMessage:
    return email.message_from_bytes(data, policy=email.policy.default)


def plain_text(data: bytes) -> str:
    """The text/plain body of a mail."""
    body = parse(data).get_body(("plain",))
    assert body is not None, "the mail has no text/plain part"
    return str(body.get_content())


@overload
async def eventually(check: Callable[[], Awaitable[T | None]], timeout: float = ..., what: str = ...) -> T: ...
@overload
async def eventually(check: Callable[[], T | None], timeout: float = ..., what: str = ...) -> T: ...


async def eventually(check: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll a (possibly async) check until it returns something truthy; bounded in time."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)
