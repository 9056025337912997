"""The same Message-ID with other content (issue 13, item 6), over SMTP into a running kefu:
both mails are kept, the second joins the first one's case marked as a possible duplicate, and
a byte-identical resend is still stored once."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from cases.domain.actors import Actor
from cases.domain.enums import Role
from cases.queries.case_views import EVERYTHING, case_detail
from cases.settings import Settings
from cases.store.models import Case, CaseHistory, CaseMessage, InboundMessage
from kefu.bootstrap import Kefu
from tests.conftest import ListTransport
from tests.mailhelpers import customer_mail, eventually, smtp_send
from tests.served import served

GM = Actor("gm", frozenset({Role.APPROVER}))


@pytest.fixture
async def kefu(settings: Settings) -> AsyncIterator[Kefu]:
    async with served(settings, transport=ListTransport(), http=False) as running:
        yield running


async def _count(kefu: Kefu, model: type, *where: object) -> int:
    async with kefu.db.reader() as s:
        return int((await s.execute(select(func.count()).select_from(model).where(*where))).scalar_one())  # type: ignore[arg-type]


async def test_a_reused_message_id_with_other_content_joins_the_first_case_marked(kefu: Kefu) -> None:
    port = kefu.settings.smtp_listen[1]
    # Foxmail-style: the client resent a different mail under the same id.
    first = customer_mail(
        "chen.jie@yutong-parts.cn", "制动鼓裂纹", "两件制动鼓有裂纹。", message_id="reused@foxmail.com"
    )
    await smtp_send(port, first)
    await eventually(lambda: _count(kefu, CaseMessage), what="the first message")
    await smtp_send(port, first)  # byte for byte again: the inbox keeps it once
    second = customer_mail(
        "chen.jie@yutong-parts.cn", "制动鼓裂纹（补充）", "补充：批次 B2026-0311。", message_id="reused@foxmail.com"
    )
    await smtp_send(port, second)

    async def both() -> int | None:
        n = await _count(kefu, CaseMessage, CaseMessage.message_id == "reused@foxmail.com")
        return n if n >= 2 else None

    assert await eventually(both, what="the second message") == 2
    assert await _count(kefu, Case) == 1
    assert await _count(kefu, InboundMessage) == 2
    async with kefu.db.reader() as s:
        reference = (await s.execute(select(Case.reference))).scalar_one()
        detail = await case_detail(s, EVERYTHING, reference, GM)
        actions = (await s.execute(select(CaseHistory.action))).scalars().all()
    inbound = [m for m in detail["messages"] if m["direction"] == "in"]
    assert [(m["new_text"].strip(), m["possible_duplicate"]) for m in inbound] == [
        ("两件制动鼓有裂纹。", False),
        ("补充：批次 B2026-0311。", True),
    ]
    assert "possible_duplicate" in actions
