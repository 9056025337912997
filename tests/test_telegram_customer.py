"""The customer's side of the Telegram bot, driven through the real bot code (python-telegram-bot
over HTTP) against a local fake Bot API server, on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from cases.domain.actors import Actor
from cases.domain.enums import Channel, Language, Role
from cases.domain.intake_message import IntakeMessage
from cases.quality.service_report import ReportInput
from cases.settings import Settings
from cases.store.models import Attachment, Case, CaseMessage, Contact, Identity, ServiceReport, TelegramUpdate
from kefu.bootstrap import Kefu
from tests.apihelpers import open_case
from tests.fake_botapi import FakeBotApi
from tests.telegram_helpers import RunningBot, Updates, eventually, run_kefu, telegram_settings


@pytest.fixture
async def botapi() -> AsyncIterator[FakeBotApi]:
    api = FakeBotApi()
    await api.start()
    yield api
    await api.stop()


@pytest.fixture
async def tg(settings: Settings, botapi: FakeBotApi) -> AsyncIterator[RunningBot]:
    run = await run_kefu(telegram_settings(settings, botapi), http=True)
    yield run
    await run.stop()


def buttons(call_params: dict[str, Any]) -> list[str]:
    markup = call_params.get("reply_markup") or {}
    return [b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row]


def last_buttons(api: FakeBotApi, chat_id: int) -> list[str]:
    return buttons(api.sent(chat_id)[-1].params)


async def telegram_case(kefu: Kefu, chat_id: int, text: str) -> str:
    """A case opened from a chat, the way the bot's confirm opens one."""
    msg = IntakeMessage(
        channel=Channel.TELEGRAM,
        source_id=uuid.uuid4().hex,
        sender_identity=str(chat_id),
        sender_name="张伟",
        subject=text[:20],
        text=text,
        new_text=text,
        received_at=kefu.clock(),
        language=Language.ZH,
    )
    async with kefu.db.unit_of_work() as s:
        outcome = await kefu.service.receive(s, msg)
    kefu.service.committed()
    return outcome.reference


async def test_a_deep_link_binds_the_chat_to_the_contact_once_and_a_second_use_is_refused(
    tg: RunningBot, botapi: FakeBotApi
) -> None:
    kefu = tg.kefu
    reference = await open_case(kefu, "刹车片异响", sender="li.na@dfmc-parts.cn")
    await kefu.users.add("sales", roles=["sales"], email="sales@supplier.example")
    token = (await kefu.users.create_token("sales")).token
    async with kefu.db.reader() as s:
        contact_id = (await s.execute(select(Case.contact_id).where(Case.reference == reference))).scalar_one()
    base = f"http://{kefu.settings.http_listen[0]}:{kefu.settings.http_listen[1]}/api/v1"
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
        async with http.post(f"{base}/contacts/{contact_id}/telegram-link") as resp:
            assert resp.status == 201
            url = (await resp.json())["url"]
        async with http.post(f"{base}/contacts/999999/telegram-link") as resp:
            assert resp.status == 404
    assert url.startswith("https://t.me/kefu_test_bot?start=")
    start_token = url.split("start=", 1)[1]
    assert len(start_token) <= 64

    updates = Updates()
    botapi.push(updates.message(42, f"/start {start_token}"))
    await botapi.wait_text(42, "已关联到您的客户档案")
    botapi.push(updates.message(43, f"/start {start_token}", language="en"))
    await botapi.wait_text(43, "has been used already")
    botapi.push(updates.message(44, f"/start {start_token[:-3]}xyz"))  # a forged signature
    await botapi.wait_text(44, "该链接无效")

    async with kefu.db.reader() as s:
        bound = (await s.execute(select(Identity).where(Identity.kind == "telegram"))).scalars().all()
        contact = await s.get(Contact, contact_id)
    assert [(i.value, i.contact_id) for i in bound] == [("42", contact_id)]
    assert contact is not None and contact.preferred_channel == "telegram"


async def test_start_explains_in_the_users_language_and_a_shared_phone_finds_the_contact(
    tg: RunningBot, botapi: FakeBotApi
) -> None:
    kefu = tg.kefu
    reference = await open_case(kefu, "咨询", sender="wang@dfmc-parts.cn")
    async with kefu.db.unit_of_work() as s:
        contact_id = (await s.execute(select(Case.contact_id).where(Case.reference == reference))).scalar_one()
        s.add(Identity(contact_id=contact_id, kind="phone", value="+8613800138000", created_at=kefu.clock()))
    updates = Updates()
    botapi.push(updates.message(51, "/start", language="en-US"))
    welcome = (await botapi.wait_text(51, "customer service"))[0]
    assert "/new" in welcome and "/status" in welcome
    assert botapi.sent(51)[-1].params["reply_markup"]["keyboard"][0][0]["request_contact"] is True
    botapi.push(updates.message(52, "/start", language="zh-hans"))
    await botapi.wait_text(52, "客户服务")

    botapi.push(updates.contact(51, "8613800138000", owner=777, language="en"))  # someone else's card
    await botapi.wait_text(51, "your own phone number")
    botapi.push(updates.contact(51, "8613800138000", language="en"))
    await botapi.wait_text(51, "We found your customer record")
    async with kefu.db.reader() as s:
        identity = (
            await s.execute(select(Identity).where(Identity.kind == "telegram", Identity.value == "51"))
        ).scalar_one()
    assert identity.contact_id == contact_id


async def test_a_guided_complaint_with_an_album_makes_one_case_across_a_restart_and_repeated_updates(
    settings: Settings, botapi: FakeBotApi
) -> None:
    tg_settings = telegram_settings(settings, botapi)
    run = await run_kefu(tg_settings)
    chat = 77
    updates = Updates()
    try:
        botapi.push(updates.message(chat, "/new"))
        await botapi.wait_text(chat, "发生了什么")
        for answer, next_question in (
            ("装车后刹车片异响，三台车都有", "零件号"),
            ("3501-00123", "批次号"),
            ("B2026-1107", "数量"),
            ("三个", "正整数"),
        ):
            botapi.push(updates.message(chat, answer))
            await botapi.wait_text(chat, next_question)
        quantity = updates.message(chat, "３")  # full-width digit
        botapi.push(quantity)
        await botapi.wait_text(chat, "车型")
    finally:
        await run.stop()  # the service restarts in the middle of the conversation

    run = await run_kefu(tg_settings)
    try:
        botapi.push(quantity)  # Telegram delivers the same update again: handled once
        skip = next(b for b in last_buttons(botapi, chat) if b.endswith(":skip"))
        botapi.push(updates.button(chat, skip))
        await botapi.wait_text(chat, "请发送照片或文件")
        for i in range(3):
            botapi.files[f"p{i}-small"] = b"s" * 10
            botapi.files[f"p{i}-large"] = bytes([i]) * 5000
            botapi.push(
                updates.photo(
                    chat,
                    (f"p{i}-small", f"p{i}-large"),
                    (10, 5000),
                    media_group_id="album-1",
                    caption="三张照片" if i == 0 else None,
                )
            )
        botapi.push(updates.document(chat, "huge", "录像.mp4", 30 * 1024 * 1024, "video/mp4"))
        await botapi.wait_text(chat, "超过机器人可下载的大小")
        await botapi.wait_text(chat, "已收到 4 个附件")
        assert len([t for t in botapi.texts(chat) if "已收到" in t]) == 2  # one for the album, one for the file
        done = next(b for b in last_buttons(botapi, chat) if b.endswith(":done"))
        botapi.push(updates.button(chat, done))
        summary = (await botapi.wait_text(chat, "请确认您的反馈"))[0]
        assert "3501-00123" in summary and "数量：3" in summary and "附件：4" in summary
        confirm = next(b for b in last_buttons(botapi, chat) if b.endswith(":confirm"))
        press = updates.button(chat, confirm)
        botapi.push(press, press, updates.button(chat, confirm))  # a repeat, and a second tap
        created = (await botapi.wait_text(chat, "您的反馈已登记"))[0]
        await run.kefu.telegram.process_pending()  # type: ignore[union-attr]
    finally:
        await run.stop()

    assert len([t for t in botapi.texts(chat) if "车型或车架号" in t]) == 1  # the repeat did not advance
    assert len([t for t in botapi.texts(chat) if "您的反馈已登记，编号" in t]) == 1
    downloaded = sorted(c.params["file_id"] for c in botapi.calls if c.method == "download")
    assert downloaded == ["p0-large", "p1-large", "p2-large"]  # the largest size only; not the huge file
    run = await run_kefu(tg_settings)
    try:
        async with run.kefu.db.reader() as s:
            cases = (await s.execute(select(Case))).scalars().all()
            assert len(cases) == 1
            case = cases[0]
            messages = (
                (
                    await s.execute(
                        select(CaseMessage).where(CaseMessage.case_id == case.id, CaseMessage.direction == "in")
                    )
                )
                .scalars()
                .all()
            )
            sizes = (
                (await s.execute(select(Attachment.size).where(Attachment.message_id == messages[0].id)))
                .scalars()
                .all()
            )
            stored = (await s.execute(select(func.count()).select_from(TelegramUpdate))).scalar_one()
    finally:
        await run.stop()
    assert case.reference in created and case.channel == "telegram" and case.reply_channel == "telegram"
    assert (case.part_number, case.batch, case.quantity) == ("3501-00123", "B2026-1107", 3)
    assert "三张照片" in case.description and "huge" in case.description  # the big file's id is kept
    assert len(messages) == 1 and sorted(sizes) == [5000, 5000, 5000]
    assert stored == len(set(botapi.pushed)) < len(botapi.pushed)  # repeats were stored once


async def test_free_text_joins_the_one_open_case_and_with_several_the_customer_picks(
    tg: RunningBot, botapi: FakeBotApi
) -> None:
    chat = 88
    first = await telegram_case(tg.kefu, chat, "传感器信号不稳定")
    updates = Updates()
    botapi.push(updates.message(chat, "补充：今天又坏了两个"))
    await botapi.wait_text(chat, f"已补充到反馈 {first}")

    second = await telegram_case(tg.kefu, chat, "另一个问题：壳体裂纹")
    botapi.push(updates.message(chat, "/status"))
    status = (await botapi.wait_text(chat, "您未结的反馈"))[0]
    assert first in status and second in status and "待审批" in status
    botapi.push(updates.message(chat, "这条是关于裂纹的"))
    await botapi.wait_text(chat, "属于哪一个")
    choice = next(b for b in last_buttons(botapi, chat) if b.endswith(second))
    botapi.push(updates.button(chat, choice))
    await botapi.wait_text(chat, f"已补充到反馈 {second}")

    async with tg.kefu.db.reader() as s:
        rows = (
            await s.execute(
                select(Case.reference, CaseMessage.new_text)
                .join(Case, Case.id == CaseMessage.case_id)
                .where(CaseMessage.direction == "in")
                .order_by(CaseMessage.id)
            )
        ).all()
    assert [(r, t) for r, t in rows if "补充" in t or "裂纹的" in t] == [
        (first, "补充：今天又坏了两个"),
        (second, "这条是关于裂纹的"),
    ]


async def _to_awaiting_satisfaction(run: RunningBot, reference: str) -> None:
    service = run.kefu.service
    await service.approve(Actor("gm", frozenset({Role.APPROVER})), reference, "quality")
    qe = Actor("qe", frozenset({Role.QUALITY}))
    await service.record_analysis(qe, reference, "装配扭矩不足")
    await service.record_measures(qe, reference, "更换扭矩扳手并复检")
    await service.verify(qe, reference, "复检合格")
    await service.reply(Actor("sales", frozenset({Role.SALES})), reference, "已更换并复检，问题已解决。")


async def test_satisfaction_buttons_close_or_reopen_the_case_like_a_typed_answer(
    tg: RunningBot, botapi: FakeBotApi
) -> None:
    chat = 99
    pleased, unhappy = await telegram_case(tg.kefu, chat, "异响一"), await telegram_case(tg.kefu, chat, "异响二")
    for reference in (pleased, unhappy):
        await _to_awaiting_satisfaction(tg, reference)
    await botapi.wait_for(
        lambda: len([c for c in botapi.sent(chat) if any(b.startswith("rt:") for b in buttons(c.params))]) == 2,
        what="two satisfaction requests with buttons",
    )
    request = next(c for c in botapi.sent(chat) if f"rt:{pleased}:satisfied" in buttons(c.params))
    assert "已更换并复检" in request.params["text"]
    assert f"rt:{pleased}:5" in buttons(request.params) and f"rt:{pleased}:unsatisfied" in buttons(request.params)

    qe = await tg.kefu.users.add("qe", roles=["department"], department="quality", email="qe@supplier.example")
    assert tg.kefu.telegram_links is not None
    link = await tg.kefu.telegram_links.user_link(qe.id, "qe")
    updates = Updates()
    botapi.push(updates.message(503, f"/start {link.split('start=')[1]}"))
    await botapi.wait_text(503, "已关联到您的 kefu 账号")
    botapi.push(updates.button(chat, f"rt:{pleased}:satisfied"), updates.button(chat, f"rt:{unhappy}:unsatisfied"))

    async def states() -> dict[str, tuple[str, str | None, int]]:
        async with tg.kefu.db.reader() as s:
            return {
                r: (st, rt, n)
                for r, st, rt, n in (
                    await s.execute(select(Case.reference, Case.state, Case.rating, Case.reopen_count))
                ).all()
            }

    now = await eventually(states, lambda v: v[pleased][0] == "closed" and v[unhappy][0] == "assigned")
    assert now[pleased] == ("closed", "satisfied", 0)
    assert now[unhappy] == ("assigned", None, 1)  # reopened, back with the department
    await botapi.wait_text(503, unhappy)  # the department's push notice of the unsatisfied rating

    # A stale button on a case that is no longer waiting for a rating changes nothing.
    botapi.push(updates.button(chat, f"rt:{pleased}:1"))
    await botapi.wait_for(lambda: len(botapi.sent(method="answerCallbackQuery")) >= 3)
    assert (await states())[pleased] == ("closed", "satisfied", 0)


async def test_a_typed_satisfaction_answer_in_the_chat_is_read_like_an_email_answer(
    tg: RunningBot, botapi: FakeBotApi
) -> None:
    chat = 97
    reference = await telegram_case(tg.kefu, chat, "线束插头松动")
    await _to_awaiting_satisfaction(tg, reference)
    await botapi.wait_for(lambda: any(f"rt:{reference}:5" in buttons(c.params) for c in botapi.sent(chat)))
    botapi.push(Updates().message(chat, "５分，谢谢！"))
    await botapi.wait_text(chat, "谢谢您的评价")
    async with tg.kefu.db.reader() as s:
        case = (await s.execute(select(Case).where(Case.reference == reference))).scalar_one()
    assert (case.state, case.rating, case.rating_score) == ("closed", "satisfied", 5)


async def test_an_album_sent_to_the_open_case_becomes_one_message_with_all_its_photos(
    tg: RunningBot, botapi: FakeBotApi
) -> None:
    chat = 95
    reference = await telegram_case(tg.kefu, chat, "壳体裂纹")
    updates = Updates()
    for i in range(3):
        botapi.files[f"a{i}-s"], botapi.files[f"a{i}-l"] = b"s", bytes([i + 1]) * 3000
        botapi.push(
            updates.photo(
                chat,
                (f"a{i}-s", f"a{i}-l"),
                (1, 3000),
                media_group_id="alb-9",
                caption="又发现三件" if i == 0 else None,
            )
        )

    async def stored() -> list[tuple[str, int]]:
        async with tg.kefu.db.reader() as s:
            return list(
                (
                    await s.execute(
                        select(CaseMessage.new_text, func.count(Attachment.id))
                        .join(Case, Case.id == CaseMessage.case_id)
                        .outerjoin(Attachment, Attachment.message_id == CaseMessage.id)
                        .where(Case.reference == reference, CaseMessage.direction == "in")
                        .group_by(CaseMessage.id, CaseMessage.new_text)
                        .order_by(CaseMessage.id)
                    )
                ).all()
            )

    rows = await eventually(stored, lambda v: len(v) == 2 and v[1][1] == 3)
    assert [tuple(r) for r in rows][1] == ("又发现三件", 3)
    await tg.kefu.telegram.process_pending()  # type: ignore[union-attr]
    assert len([t for t in botapi.texts(chat) if "已补充到反馈" in t]) == 1


async def test_the_acknowledgement_mail_carries_a_deep_link_that_binds_the_chat(
    tg: RunningBot, botapi: FakeBotApi
) -> None:
    from tests.mailhelpers import parse

    kefu = tg.kefu
    reference = await open_case(kefu, "油封渗油", sender="zhao@faw-parts.cn")
    kefu.service.committed()

    async def acks() -> list[str]:
        await kefu.dispatcher.run_once()
        return [parse(m.data).get_content() for m in tg.mail.sent if "zhao@faw-parts.cn" in m.recipients]

    body = (await eventually(acks, lambda found: len(found) >= 1))[0]
    assert reference in body and "Telegram" in body
    link = body.split("https://t.me/kefu_test_bot?start=", 1)[1].split()[0]
    botapi.push(Updates().message(77, f"/start {link}"))
    await botapi.wait_text(77, "已关联到您的客户档案")

    # Bound now, and the chat became the preferred way: the next acknowledgement comes there,
    # with no invitation.
    await open_case(kefu, "又一个问题", sender="zhao@faw-parts.cn")
    kefu.service.committed()
    await kefu.dispatcher.run_once()
    second = await botapi.wait_text(77, "又一个问题")
    assert "t.me/" not in second[0]
    assert len(await acks()) == 1


async def test_the_service_reports_button_confirms_the_report_from_the_customers_chat_only(
    tg: RunningBot, botapi: FakeBotApi
) -> None:
    chat, stranger = 93, 94
    reference = await telegram_case(tg.kefu, chat, "现场服务请求")
    await telegram_case(tg.kefu, stranger, "别的事")  # a bound chat of another customer
    service = tg.kefu.service
    await service.approve(Actor("gm", frozenset({Role.APPROVER})), reference, "quality")
    qe = Actor("qe", frozenset({Role.QUALITY}))
    report = await service.service_reports.plan(qe, reference, "王工", "2026-12-08", "总装二厂", "", "排查异响")
    filed = ReportInput(work_done="更换摩擦片", findings="倒角不足", result="无异响", minutes_spent=120)
    await service.service_reports.file_report(qe, reference, report.id, filed)
    await service.service_reports.review(Actor("gm", frozenset({Role.APPROVER})), reference, report.id, "")
    service.committed()
    await botapi.wait_for(
        lambda: any(f"sc:{report.id}:satisfied" in buttons(c.params) for c in botapi.sent(chat)),
        what="the report's confirmation request with buttons",
    )
    request = next(c for c in botapi.sent(chat) if f"sc:{report.id}:neutral" in buttons(c.params))
    assert report.record_number in request.params["text"] and "更换摩擦片" in request.params["text"]

    updates = Updates()
    botapi.push(updates.button(stranger, f"sc:{report.id}:satisfied"))  # not their case: nothing happens
    await botapi.wait_for(lambda: len(botapi.sent(method="answerCallbackQuery")) >= 1)
    botapi.push(updates.button(chat, f"sc:{report.id}:satisfied"))

    async def confirmed() -> tuple[str, str | None, str | None]:
        async with tg.kefu.db.reader() as s:
            row = await s.get(ServiceReport, report.id)
            assert row is not None
            return row.state, row.confirmed_how, row.confirmation_rating

    assert await eventually(confirmed, lambda v: v[0] == "confirmed") == ("confirmed", "button", "satisfied")
    async with tg.kefu.db.reader() as s:
        case = (await s.execute(select(Case).where(Case.reference == reference))).scalar_one()
    assert (case.state, case.rating) == ("assigned", None)  # the report, not the case
