"""Helpers for the console tests: staff with passwords, a browser-like client that signs in
and posts forms with the CSRF token a page carries."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from kefu.bootstrap import Kefu
from kefu.web.app import create_app, web_services
from tests.apihelpers import STAFF, AiohttpClient

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Console:
    kefu: Kefu
    client: TestClient  # type: ignore[type-arg]
    clients: list[TestClient]  # type: ignore[type-arg]

    async def browser(self, who: str | None = None, headers: dict[str, str] | None = None) -> Browser:
        """A new client (its own cookie jar) on the same server, signed in as `who`."""
        client: TestClient = TestClient(self.client.server)  # type: ignore[type-arg]
        await client.start_server()
        self.clients.append(client)
        b = Browser(client, headers or {})
        if who is not None:
            resp = await b.sign_in(who)
            assert resp.status == 303, (resp.status, await resp.text())
        return b


@dataclass
class Browser:
    client: TestClient  # type: ignore[type-arg]
    headers: dict[str, str]
    last_page: str = ""

    async def get(self, path: str, expect: int | None = 200) -> str:
        resp = await self.client.get(path, headers=self.headers, allow_redirects=True)
        text = await resp.text()
        if expect is not None:
            assert resp.status == expect, (resp.status, text[:2000])
        self.last_page = text
        return text

    def csrf(self) -> str:
        found = CSRF.search(self.last_page)
        assert found, "the page has no form with a CSRF token"
        return found.group(1)

    async def sign_in(self, who: str, password: str = PASSWORD, next_path: str = "/") -> Any:
        """Open the sign-in page (for its form token), then post the form."""
        await self.get("/signin")
        return await self.client.post(
            "/signin",
            data={"username": who, "password": password, "next": next_path, "csrf_token": self.csrf()},
            headers=self.headers,
            allow_redirects=False,
        )

    async def post(self, path: str, data: dict[str, str], *, csrf: bool = True, follow: bool = False) -> Any:
        body = dict(data)
        if csrf:
            body["csrf_token"] = self.csrf()
        return await self.client.post(path, data=body, headers=self.headers, allow_redirects=follow)

    async def step(self, reference: str, segment: str, **fields: str) -> int:
        """Open the case page and post one of its step forms; returns the answer's status."""
        await self.get(f"/cases/{reference}")
        resp = await self.post(f"/cases/{reference}/act/{segment}", fields)
        return int(resp.status)


@pytest.fixture(name="console")
async def console_fixture(kefu: Kefu, aiohttp_client: AiohttpClient) -> AsyncIterator[Console]:
    client = await aiohttp_client(create_app(web_services(kefu)))
    for name, roles, department in STAFF:
        await kefu.users.add(
            name, roles=roles, department=department, email=f"{name}@supplier.example", password=PASSWORD
        )
    console = Console(kefu, client, [])
    try:
        yield console
    finally:
        for extra in console.clients:
            await extra.session.close()  # the server is the fixture's; only the sessions are ours
