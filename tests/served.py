"""kefu started for real on loopback ports, for the tests that talk to it over sockets."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import aiohttp

from cases.services.users import seed_departments
from cases.settings import Settings
from kefu.bootstrap import Kefu, bootstrap
from kefu.parts import ALL, Part, running
from notifications.transports import MailTransport
from tests.databases import migrated

# username, roles, department: the approver, a Quality engineer, a Sales clerk
STAFF = [("gm", ["approver"], None), ("qe", ["quality", "department"], "quality"), ("sales", ["sales"], "sales")]


class SocketApi:
    """The REST API over a real socket, as each of STAFF."""

    def __init__(self, http: aiohttp.ClientSession, base: str, tokens: dict[str, str]) -> None:
        self.http, self.base, self.tokens = http, base, tokens

    async def call(
        self, who: str, method: str, path: str, body: dict[str, Any] | None = None, expect: int | tuple[int, ...] = 200
    ) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        async with self.http.request(method, self.base + path, json=body, headers=headers) as resp:
            data = await resp.json()
            assert resp.status in ((expect,) if isinstance(expect, int) else expect), (resp.status, data)
            return data

    async def step(self, who: str, reference: str, action: str, **body: str) -> str:
        return (await self.call(who, "POST", f"/cases/{reference}/{action}", body))["state"]  # type: ignore[no-any-return]


@asynccontextmanager
async def served(
    settings: Settings,
    *,
    transport: MailTransport | None = None,
    http: bool = True,
    parts: Iterable[Part] | None = None,
    **overrides: Any,
) -> AsyncIterator[Kefu]:
    """A migrated, seeded kefu with every part running (but the web, if not `http`), or only
    `parts`; stopped afterwards."""
    settings = replace(settings, **overrides)
    await migrated(settings.sqlalchemy_url)
    kefu = bootstrap(settings, transport=transport, poll_seconds=0.2)
    await seed_departments(kefu.db)
    async with running(kefu, parts if parts is not None else ALL if http else ALL - {Part.WEB}):
        yield kefu


@asynccontextmanager
async def served_with_staff(settings: Settings, relay_port: int) -> AsyncIterator[tuple[Kefu, SocketApi]]:
    """kefu sending through a local relay, with STAFF and their tokens, and an API client."""
    async with served(settings, outgoing_smtp=f"smtp://127.0.0.1:{relay_port}") as kefu:
        tokens = {}
        for name, roles, dept in STAFF:
            await kefu.users.add(name, roles=roles, department=dept, email=f"{name}@supplier.example")
            tokens[name] = (await kefu.users.create_token(name)).token
        host, port = kefu.settings.http_listen
        async with aiohttp.ClientSession() as http:
            yield kefu, SocketApi(http, f"http://{host}:{port}/api/v1", tokens)
