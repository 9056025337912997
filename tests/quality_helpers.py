"""Helpers for the quality tests: kefu on a frozen clock with the REST API on top, a customer
mail as a case, the notices the dispatcher wrote, replies threaded by Message-ID."""

from __future__ import annotations

import base64
import ctypes.util
import email
import email.policy
import importlib.util
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select

from cases.domain.clock import FrozenClock
from cases.domain.enums import Channel, Language
from cases.domain.intake_message import IntakeMessage, ThreadHints
from cases.services.receiving import Outcome
from cases.services.users import seed_departments
from cases.settings import Settings
from cases.store.models import Delivery
from kefu.bootstrap import Kefu, bootstrap
from kefu.web.app import create_app, web_services
from tests.apihelpers import STAFF, AiohttpClient, Api
from tests.conftest import ListTransport
from tests.databases import migrated

CUSTOMER = "zhang.wei@dfmc-parts.cn"
# The day before China's National Day holiday of 2026 (1-7 October, made up on Saturday 10 October).
START = datetime.fromisoformat("2026-09-30T10:00:00+08:00")


@dataclass
class Quality:
    api: Api
    clock: FrozenClock
    mail: ListTransport

    @property
    def kefu(self) -> Kefu:
        return self.api.kefu

    async def open_case(self, subject: str, sender: str = CUSTOMER) -> str:
        outcome = await self.receive(subject, "零件号：3501-00123\n装车后异响。", sender=sender)
        return outcome.reference

    async def receive(
        self,
        subject: str,
        text: str,
        *,
        sender: str = CUSTOMER,
        in_reply_to: str | None = None,
        address_token: str | None = None,
        name: str = "张伟",
    ) -> Outcome:
        msg = IntakeMessage(
            channel=Channel.EMAIL,
            source_id=uuid.uuid4().hex,
            sender_identity=sender,
            sender_name=name,
            subject=subject,
            text=text,
            new_text=text,
            received_at=self.clock(),
            language=Language.ZH,
            message_id=f"{uuid.uuid4().hex}@{sender.split('@')[1]}",
            hints=ThreadHints(message_ids=(in_reply_to,) if in_reply_to else (), address_token=address_token),
        )
        async with self.kefu.db.unit_of_work() as s:
            return await self.kefu.service.receive(s, msg)

    async def deliveries(self, template: str) -> list[Delivery]:
        await self.kefu.dispatcher.run_once()
        async with self.kefu.db.reader() as s:
            return list(
                (await s.execute(select(Delivery).where(Delivery.template == template).order_by(Delivery.id))).scalars()
            )

    def mails_to(self, address: str, subject_part: str) -> list[EmailMessage]:
        found = []
        for caught in self.mail.sent:
            if address in caught.recipients:
                msg = email.message_from_bytes(caught.data, policy=email.policy.default)
                assert isinstance(msg, EmailMessage)
                if subject_part in str(msg["Subject"]):
                    found.append(msg)
        return found


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture
async def quality(settings: Settings, aiohttp_client: AiohttpClient) -> AsyncIterator[Quality]:
    """kefu on a frozen clock (at START; a test sets `clock.now` to go elsewhere), its API with
    a token for each of STAFF, the mail it sends kept in memory."""
    await migrated(settings.sqlalchemy_url)
    clock = FrozenClock(START)
    transport = ListTransport()
    kefu = bootstrap(settings, clock=clock, transport=transport, poll_seconds=0.2)
    await seed_departments(kefu.db)
    client = await aiohttp_client(create_app(web_services(kefu)))
    tokens = {}
    for name, roles, department in STAFF:
        await kefu.users.add(name, roles=roles, department=department, email=f"{name}@supplier.example")
        tokens[name] = (await kefu.users.create_token(name)).token
    try:
        yield Quality(Api(client, kefu, tokens), clock, transport)
    finally:
        await kefu.db.dispose()


def pdf_tools_missing() -> str | None:
    """Why a PDF cannot be made and read here (the skip reason), or None."""
    if importlib.util.find_spec("weasyprint") is None:
        return "weasyprint is not installed"
    if ctypes.util.find_library("pango-1.0") is None:
        return "Pango is not installed (Debian: libpango-1.0-0 libpangoft2-1.0-0)"
    if shutil.which("pdftotext") is None:
        return "pdftotext is not installed (Debian: poppler-utils)"
    if not any(Path("/usr/share/fonts").rglob("NotoSansCJK*")):
        return "no CJK font (Debian: fonts-noto-cjk)"
    return None


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    """The PDF's text as pdftotext reads it, whitespace folded (a table cell wraps over lines)."""
    path = tmp_path / "document.pdf"
    path.write_bytes(pdf)
    raw = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return " ".join(raw.split())
