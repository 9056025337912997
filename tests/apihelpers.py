"""Helpers for the REST API tests: staff with tokens, a client on the real app, cases opened
through CaseService.receive (no SMTP needed)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from cases.domain.enums import Channel, Language
from cases.domain.intake_message import Attachment, IntakeMessage
from kefu.bootstrap import Kefu
from kefu.web.app import create_app, web_services

# username, roles, department
STAFF: list[tuple[str, list[str], str | None]] = [
    ("gm", ["approver"], None),
    ("qe", ["quality", "department"], "quality"),
    ("sales", ["sales"], "sales"),
    ("prod", ["department"], "production_equipment"),
    ("tech", ["department"], "technical_development"),
    ("admin", ["admin"], None),
    ("nobody", [], None),
]

AiohttpClient = Callable[[web.Application], Awaitable[TestClient]]  # type: ignore[type-arg]


@dataclass
class Api:
    client: TestClient  # type: ignore[type-arg]
    kefu: Kefu
    tokens: dict[str, str]

    async def call(
        self, who: str | None, method: str, path: str, body: Any = None, *, expect: int = 200, data: bytes | None = None
    ) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        resp = await self.client.request(
            method, "/api/v1" + path, json=body if data is None else None, data=data, headers=headers
        )
        payload = await resp.json()
        assert resp.status == expect, (resp.status, payload)
        return payload

    async def step(self, who: str, reference: str, segment: str, **body: str) -> str:
        state: str = (await self.call(who, "POST", f"/cases/{reference}/{segment}", body))["state"]
        return state

    async def error(
        self, who: str | None, method: str, path: str, body: Any = None, *, expect: int, data: bytes | None = None
    ) -> dict[str, str]:
        payload = await self.call(who, method, path, body, expect=expect, data=data)
        assert set(payload) == {"error"} and set(payload["error"]) == {"code", "message"}, payload
        return payload["error"]  # type: ignore[no-any-return]


@pytest.fixture(name="api")
async def api_fixture(kefu: Kefu, aiohttp_client: AiohttpClient) -> Api:
    """The real app on a test server, and a token for each of STAFF."""
    client = await aiohttp_client(create_app(web_services(kefu)))
    tokens = {}
    for name, roles, department in STAFF:
        await kefu.users.add(name, roles=roles, department=department, email=f"{name}@supplier.example")
        tokens[name] = (await kefu.users.create_token(name)).token
    return Api(client, kefu, tokens)


async def open_case(
    kefu: Kefu,
    subject: str,
    text: str = "装车后刹车片异响。",
    *,
    sender: str = "zhang.wei@dfmc-parts.cn",
    received_at: datetime | None = None,
    attachments: tuple[Attachment, ...] = (),
    html: str | None = None,
) -> str:
    """A customer mail becomes a case, the way the intake processor hands it over."""
    msg = IntakeMessage(
        channel=Channel.EMAIL,
        source_id=uuid.uuid4().hex,
        sender_identity=sender,
        sender_name="张伟",
        subject=subject,
        text=text,
        new_text=text,
        received_at=received_at or kefu.clock(),
        language=Language.ZH,
        message_id=f"{uuid.uuid4().hex}@dfmc-parts.cn",
        attachments=attachments,
        html=html,
    )
    async with kefu.db.unit_of_work() as s:
        outcome = await kefu.service.receive(s, msg)
    return outcome.reference


async def assign(api: Api, reference: str, department: str) -> None:
    assert await api.step("gm", reference, "approve", department=department) == "assigned"
