"""Shared fixtures: a real database (SQLite file, and PostgreSQL when it answers), a wired
kefu, and a real SMTP relay on loopback that catches outgoing mail."""

from __future__ import annotations

import asyncio
import os
import random
import socket
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from cases.settings import Settings
from tests.databases import PG_ADMIN_DSN, migrated

# Console passwords are hashed at argon2's lowest cost in the tests, here and in every kefu
# subprocess they start: at the default (64 MiB, 3 passes) the staff of each console test cost
# seconds of set-up. The default cost and the rehash at sign-in are tested in test_passwords.py.
TEST_PASSWORD_COST = {"KEFU_PASSWORD_TIME_COST": "1", "KEFU_PASSWORD_MEMORY_KIB": "32"}
for _name, _value in TEST_PASSWORD_COST.items():
    os.environ.setdefault(_name, _value)


def _pg_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=0.5):
            return True
    except OSError:
        return False


PG_AVAILABLE = _pg_answers()


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


_GIVEN: set[int] = set()


def free_port() -> int:
    """A loopback port for a test server to listen on, chosen outside the kernel's ephemeral
    range: the kernel gives ports of that range to outgoing connections (to PostgreSQL, to a
    relay), and one taken between this call and the server's bind made the bind fail (seen in
    CI: "address already in use"). Never the same port twice in one test run."""
    low, high = _ephemeral_range()
    spans = [r for r in (range(20000, min(low, 30000)), range(max(high + 1, 61000), 65536)) if len(r) > 100]
    rng = random.Random()
    for _ in range(200):
        if not spans:
            break
        port = rng.choice(rng.choice(spans))
        if port in _GIVEN:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _GIVEN.add(port)
        return port
    with socket.socket() as s:  # no room outside the ephemeral range: let the kernel choose
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a new PostgreSQL database dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'kefu.sqlite3'}"
        return
    if not PG_AVAILABLE:
        pytest.skip("PostgreSQL does not answer on 127.0.0.1:5432; these tests run on SQLite only here")
    import asyncpg

    name = f"kefu_test_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        secret_key="test-secret",
        mail_domains=("kefu.example",),
        smtp_listen=("127.0.0.1", free_port()),
        http_listen=("127.0.0.1", free_port()),
        instance_id="test",
        parse_workers=0,  # parsed inline unless a test asks for workers
        # Off: on the wall clock every started kefu would remind Sales of last quarter's report
        # and add a notice other tests do not expect (tests/test_report_reminder.py turns it on).
        report_reminder_days=0,
        password_time_cost=1,
        password_memory_kib=32,
    )


@dataclass
class Caught:
    envelope_from: str
    recipients: list[str]
    data: bytes


@dataclass
class ListTransport:
    """Outgoing mail kept in memory, for tests that do not need a relay."""

    sent: list[Caught] = field(default_factory=list)

    async def send(self, envelope_from: str, recipients: Sequence[str], data: bytes) -> None:
        self.sent.append(Caught(envelope_from, list(recipients), data))


@pytest.fixture
async def kefu(settings: Settings) -> AsyncIterator[object]:
    from cases.services.users import seed_departments
    from kefu.bootstrap import bootstrap

    await migrated(settings.sqlalchemy_url)
    app = bootstrap(settings, transport=ListTransport(), poll_seconds=0.2)
    await seed_departments(app.db)
    try:
        yield app
    finally:
        await app.db.dispose()


class Relay:
    """A real SMTP server on loopback (aiosmtpd) standing in for the outgoing relay."""

    def __init__(self) -> None:
        self.messages: list[Caught] = []
        self.port = free_port()

    async def handle_DATA(self, server, session, envelope) -> str:  # type: ignore[no-untyped-def]
        self.messages.append(
            Caught(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content or envelope.content)
        )
        return "250 OK"


@pytest.fixture
def relay() -> Iterator[Relay]:
    from aiosmtpd.controller import Controller

    r = Relay()
    controller = Controller(r, hostname="127.0.0.1", port=r.port)
    controller.start()
    try:
        yield r
    finally:
        controller.stop()
