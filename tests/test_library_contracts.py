"""The inner parts of libraries that kefu's kept speed devices rely on (bench/README.md, "Speed
devices"). pyproject.toml caps each library below its next minor release; this test names
every private attribute so that an upgrade past the cap that moves one fails here, loudly,
instead of in the middle of an SMTP session or a commit."""

from __future__ import annotations

import inspect
import re

import aiosqlite
import pytest
from aiosmtpd.smtp import SMTP
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session


@pytest.mark.parametrize(
    "name",
    [
        "_handle_hooks",
        "_call_handler_hook",
        "_decode_data",  # BDAT delivers as aiosmtpd's DATA does
        "_set_post_data_state",
        "_getaddr",  # overridden: BDAT's state, the fast address path
        "_reader",
        "_writer",
        "_handler_coroutine",  # the DATA reader reads the session's own stream
    ],
)
def test_aiosmtpd_smtp_has_what_intake_smtp_data_uses(name: str) -> None:
    # A method of the class, or an attribute a session sets on itself (`self._reader = ...`).
    assert hasattr(SMTP, name) or re.search(rf"self\.{name}\s*[:=]", inspect.getsource(SMTP)), name


def test_aiosmtpd_still_reads_data_line_by_line_in_smtp_data() -> None:
    """The fast DATA reader replaces smtp_DATA; it must still answer as aiosmtpd's does
    (tests/test_smtp_data.py compares the two byte for byte)."""
    assert "readuntil" in inspect.getsource(SMTP.smtp_DATA)


@pytest.mark.parametrize("name", ["_execute", "_running", "_connection", "_conn"])
def test_aiosqlite_connection_has_what_the_inline_connection_uses(name: str) -> None:
    assert name in inspect.getsource(aiosqlite.Connection), name
    assert inspect.iscoroutinefunction(aiosqlite.Connection._execute)


def test_sqlalchemy_lets_kefu_choose_the_sync_session_class_and_override_flush() -> None:
    assert "sync_session_class" in inspect.signature(AsyncSession).parameters  # what async_sessionmaker passes on
    assert list(inspect.signature(Session.flush).parameters) == ["self", "objects"]
    assert Session.flush.__module__ == "sqlalchemy.orm.session"  # the method UnitOfWorkSession overrides
