"""Staff push notices and approval buttons, the webhook, and sending within Telegram's limits,
through the real bot code against a local fake Bot API server, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from bots.sender import Limiter
from cases.settings import Settings
from cases.store.models import Case, Contact, Delivery, Identity, TelegramUpdate, User
from tests.apihelpers import open_case
from tests.fake_botapi import FakeBotApi
from tests.telegram_helpers import RunningBot, Updates, run_kefu, telegram_settings
from tests.test_telegram_customer import botapi, buttons, telegram_case, tg  # noqa: F401  (fixtures)


async def bind_staff(
    run: RunningBot,
    api: FakeBotApi,
    updates: Updates,
    username: str,
    chat: int,
    roles: list[str],
    department: str | None = None,
) -> User:
    user = await run.kefu.users.add(username, roles=roles, department=department, email=f"{username}@supplier.example")
    assert run.kefu.telegram_links is not None
    url = await run.kefu.telegram_links.user_link(user.id, username)
    api.push(updates.message(chat, f"/start {url.split('start=')[1]}"))
    await api.wait_text(chat, "已关联到您的 kefu 账号")
    return user


async def case_row(run: RunningBot, reference: str) -> Case:
    async with run.kefu.db.reader() as s:
        return (await s.execute(select(Case).where(Case.reference == reference))).scalar_one()


def notice_with(api: FakeBotApi, chat: int, data: str) -> Any:
    return next((c for c in api.sent(chat) if data in buttons(c.params)), None)


async def test_an_approver_approves_and_assigns_a_department_from_the_push_notice(
    tg: RunningBot, botapi: FakeBotApi
) -> None:
    updates = Updates()
    await bind_staff(tg, botapi, updates, "gm", 500, ["approver"])
    await bind_staff(tg, botapi, updates, "nobody", 501, [])
    await bind_staff(tg, botapi, updates, "qe", 502, ["department"], "quality")
    reference = await open_case(tg.kefu, "刹车片异响")
    notice = await botapi.wait_for(lambda: notice_with(botapi, 500, f"ap:{reference}:quality"), what="approval push")
    assert reference in notice.params["text"] and f"na:{reference}" in buttons(notice.params)
    assert not botapi.sent(502)[1:]  # department members hear of it only once it is theirs

    # Roles are checked as for the API: a button pressed by someone without the role is refused.
    botapi.push(updates.button(501, f"ap:{reference}:quality", notice.params["message_id"]))
    await botapi.wait_text(501, "未能执行")
    assert (await case_row(tg, reference)).state == "new"

    botapi.push(updates.button(500, f"ap:{reference}:quality", notice.params["message_id"], notice.params["text"]))
    edited = await botapi.wait_for(lambda: botapi.sent(500, "editMessageText"), what="the notice edited")
    assert "gm 已批准并分配给 质量部" in edited[0].params["text"] and reference in edited[0].params["text"]
    case = await case_row(tg, reference)
    assert case.state == "assigned"
    await botapi.wait_text(502, reference)  # the department's push notice: case assigned

    botapi.push(updates.button(500, f"ap:{reference}:sales", notice.params["message_id"]))
    refused = (await botapi.wait_text(500, "未能执行"))[0]
    assert "assigned" in refused  # the case service's own message: not from this state
    async with tg.kefu.db.reader() as s:
        email = (
            await s.execute(
                select(func.count())
                .select_from(Delivery)
                .where(Delivery.template == "approval_needed", Delivery.channel == "email")
            )
        ).scalar_one()
    assert email == 1  # the push comes in addition to the approver's email


async def test_no_action_from_a_button_takes_the_next_message_as_the_reason(tg: RunningBot, botapi: FakeBotApi) -> None:
    updates = Updates()
    await bind_staff(tg, botapi, updates, "gm", 600, ["approver"], None)
    reference = await open_case(tg.kefu, "咨询安装说明")
    notice = await botapi.wait_for(lambda: notice_with(botapi, 600, f"na:{reference}"), what="approval push")
    botapi.push(updates.button(600, f"na:{reference}", notice.params["message_id"], notice.params["text"]))
    await botapi.wait_text(600, "请发送“不做处理”的原因")
    botapi.push(updates.message(600, "非我司供货产品，已电话说明"))
    edited = await botapi.wait_for(lambda: botapi.sent(600, "editMessageText"), what="the notice edited")
    assert "决定不做处理：非我司供货产品，已电话说明" in edited[0].params["text"]
    case = await case_row(tg, reference)
    assert (case.state, case.no_action_reason) == ("no_action", "非我司供货产品，已电话说明")


@pytest.mark.parametrize("data", ["zz:FB-2026-000001", "ap:{reference}", "pk:not-a-number:{reference}", "rt:", "na:"])
async def test_a_button_with_unknown_or_malformed_data_is_answered_and_changes_nothing(
    tg: RunningBot, botapi: FakeBotApi, data: str
) -> None:
    """The button table matches each kind of callback data by its pattern; anything else gets
    its answer (the client stops its spinner) and no step is taken."""
    updates = Updates()
    await bind_staff(tg, botapi, updates, "gm", 700, ["approver"], None)
    reference = await open_case(tg.kefu, "咨询安装说明")
    await botapi.wait_for(lambda: notice_with(botapi, 700, f"na:{reference}"), what="approval push")
    before = len(botapi.sent(700))
    pressed = updates.button(700, data.format(reference=reference))
    botapi.push(pressed)
    await botapi.wait_for(lambda: botapi.sent(None, "answerCallbackQuery"), what="the button answered")
    assert (await case_row(tg, reference)).state == "new"
    assert len(botapi.sent(700)) == before  # no reply, no prompt for a reason


async def test_the_webhook_checks_the_secret_stores_before_200_and_handles_a_repeat_once(
    settings: Settings, botapi: FakeBotApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = "https://kefu.example/telegram/webhook"
    run = await run_kefu(
        telegram_settings(settings, botapi, telegram_webhook_url=hook, telegram_webhook_secret="s3cret_Token-1"),
        http=True,
    )
    try:
        registered = [c.params for c in botapi.calls if c.method == "setWebhook"]
        assert registered and registered[0]["url"] == hook and registered[0]["secret_token"] == "s3cret_Token-1"
        assert not [c for c in botapi.calls if c.method == "getUpdates"]  # no polling with a webhook
        url = f"http://{settings.http_listen[0]}:{settings.http_listen[1]}/telegram/webhook"
        update = Updates().message(81, "/start")
        async with aiohttp.ClientSession() as http:
            for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
                async with http.post(url, json=update, headers=headers) as resp:
                    assert resp.status == 403
            async with run.kefu.db.reader() as s:
                assert (await s.execute(select(func.count()).select_from(TelegramUpdate))).scalar_one() == 0
            right = {"X-Telegram-Bot-Api-Secret-Token": "s3cret_Token-1"}
            for _ in range(2):
                async with http.post(url, json=update, headers=right) as resp:
                    assert resp.status == 200
            await botapi.wait_text(81, "客服")

            async def broken(payloads: list[dict[str, Any]]) -> int:
                raise ConnectionRefusedError("database down")

            monkeypatch.setattr(run.kefu.telegram.store, "store", broken)  # type: ignore[union-attr]
            async with http.post(url, json=Updates(7000).message(81, "hello"), headers=right) as resp:
                assert resp.status == 500  # Telegram will deliver it again
        await asyncio.sleep(0.5)
        assert len(botapi.texts(81)) == 1  # the repeat was stored and handled once
        async with run.kefu.db.reader() as s:
            assert (await s.execute(select(func.count()).select_from(TelegramUpdate))).scalar_one() == 1
    finally:
        await run.stop()


async def test_an_update_with_a_nul_in_its_text_is_stored_without_it(settings: Settings) -> None:
    """PostgreSQL refuses \\u0000 in JSON: such an update once failed the store, and Telegram
    would have delivered it again and again (a webhook answered 500, a poll stuck on it)."""
    from bots.updates import UpdateStore
    from cases.domain.clock import utcnow
    from kefu.bootstrap import bootstrap
    from tests.databases import migrated

    await migrated(settings.sqlalchemy_url)
    kefu = bootstrap(settings)
    try:
        update = Updates().message(81, "刹车\x00异响")
        update["message"]["from"]["first_name"] = "伟\x00"
        assert await UpdateStore(kefu.db, utcnow).store([update]) == 1
        async with kefu.db.reader() as s:
            stored = (await s.execute(select(TelegramUpdate.payload))).scalar_one()
        assert stored["message"]["text"] == "刹车异响" and stored["message"]["from"]["first_name"] == "伟"
        assert stored["update_id"] == update["update_id"]
    finally:
        await kefu.db.dispose()


async def test_a_customer_who_blocked_the_bot_is_marked_inactive_and_gets_email(
    tg: RunningBot, botapi: FakeBotApi
) -> None:
    kefu = tg.kefu
    first = await open_case(kefu, "旧反馈", sender="li.na@dfmc-parts.cn")
    async with kefu.db.reader() as s:
        contact_id = (await s.execute(select(Case.contact_id).where(Case.reference == first))).scalar_one()
    assert kefu.telegram_links is not None
    url = await kefu.telegram_links.contact_link(contact_id, "sales")
    updates = Updates()
    botapi.push(updates.message(61, f"/start {url.split('start=')[1]}"))
    await botapi.wait_text(61, "已关联")
    mails_before = len(tg.mail.sent)
    botapi.blocked.add(61)
    reference = await telegram_case(tg.kefu, 61, "壳体裂纹")

    def mailed() -> Any:
        return [
            m
            for m in tg.mail.sent[mails_before:]
            if m.recipients == ["li.na@dfmc-parts.cn"] and reference.encode() in m.data
        ]

    await botapi.wait_for(mailed, what="the case-opened notice by email")
    async with kefu.db.reader() as s:
        identity = (
            await s.execute(select(Identity).where(Identity.kind == "telegram", Identity.value == "61"))
        ).scalar_one()
        tg_delivery = (
            await s.execute(select(Delivery).where(Delivery.channel == "telegram", Delivery.template == "case_opened"))
        ).scalar_one()
    assert identity.active is False
    assert tg_delivery.status == "dead" and "blocked" in (tg_delivery.last_error or "")

    botapi.blocked.discard(61)  # the user unblocks the bot and writes again: the chat is live again
    botapi.push(updates.message(61, "补充一张照片稍后发"))
    await botapi.wait_text(61, "属于哪一个")  # two open cases: the old mail one and the new one
    async with kefu.db.reader() as s:
        identity = (
            await s.execute(select(Identity).where(Identity.kind == "telegram", Identity.value == "61"))
        ).scalar_one()
    assert identity.active is True


async def test_retry_after_is_waited_out_and_then_the_message_is_delivered(tg: RunningBot, botapi: FakeBotApi) -> None:
    botapi.flood["sendMessage"] = [1]
    botapi.push(Updates().message(70, "/start"))
    await botapi.wait_text(70, "客服")
    attempts = [c for c in botapi.calls if c.method == "sendMessage" and int(c.params["chat_id"]) == 70]
    assert [c.status for c in attempts] == [429, 200]
    assert attempts[1].at - attempts[0].at >= 1.0


async def test_the_limiter_spaces_messages_per_chat_and_overall() -> None:
    """The slots each send reserved (not when a busy machine woke it up): one a chat per 0.2 s,
    20 a second overall, and another chat's sends fit between chat a's."""
    limiter = Limiter(per_second=20, per_chat_seconds=0.2)
    loop = asyncio.get_running_loop()
    started = loop.time()
    slots: dict[str, list[float]] = {"a": [], "b": []}

    async def send(chat: str) -> None:
        slots[chat].append(await limiter.wait(chat) - started)
        assert loop.time() - started >= slots[chat][-1]  # it did wait for its slot

    await asyncio.gather(*(send(c) for c in ("a", "a", "a", "b", "b")))
    a, b = sorted(slots["a"]), sorted(slots["b"])
    assert a[1] - a[0] >= 0.2 - 1e-9 and a[2] - a[1] >= 0.2 - 1e-9  # one a chat per interval
    everything = sorted(a + b)
    assert all(later - earlier >= 0.05 - 1e-9 for earlier, later in itertools.pairwise(everything))  # 20 a second
    assert b[0] < a[1]  # another chat does not wait for chat a's interval


async def test_with_the_bot_off_a_chat_bound_earlier_gets_its_notices_by_email(kefu: Any) -> None:
    """No KEFU_TELEGRAM_TOKEN: the bot is off, but a contact whose reply channel is Telegram is
    still answered, on the next channel of the reply-channel table (email)."""
    assert kefu.telegram is None and kefu.telegram_links is None
    first = await open_case(kefu, "旧反馈", sender="zhao@dfmc-parts.cn")
    async with kefu.db.unit_of_work() as s:
        case = (await s.execute(select(Case).where(Case.reference == first))).scalar_one()
        s.add(Identity(contact_id=case.contact_id, kind="telegram", value="4242", created_at=kefu.clock()))
        contact = await s.get(Contact, case.contact_id)
        contact.preferred_channel = "telegram"  # as a deep link left it
    reference = await telegram_case(kefu, 4242, "新反馈")
    await kefu.dispatcher.run_once()
    mails = [
        m
        for m in kefu.dispatcher.transport.sent
        if m.recipients == ["zhao@dfmc-parts.cn"] and reference.encode() in m.data
    ]
    assert len(mails) == 1
    async with kefu.db.reader() as s:
        dead = (await s.execute(select(Delivery.last_error).where(Delivery.channel == "telegram"))).scalars().all()
    assert len(dead) == 1 and "bot is off" in (dead[0] or "")
