"""A Telegram update the database refuses for a reason of its own is set aside after a few
tries, and the updates after it go on (issue 17, "Faults" 3); staff can put it back."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from sqlalchemy import select

from bots.updates import MAX_ATTEMPTS, UpdateStore
from cases.store.faults import is_transient
from cases.store.models import TelegramUpdate, UpdateStatus
from kefu.bootstrap import Kefu
from tests.apihelpers import Api, api_fixture  # noqa: F401  (the `api` fixture)


def _update(update_id: int, chat_id: int) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {"message_id": 1, "date": 1760000000, "chat": {"id": chat_id, "type": "private"}, "text": "漏油"},
    }


async def test_an_update_the_database_refuses_is_set_aside_after_a_few_tries_and_the_rest_go_on(kefu: Kefu) -> None:
    store = UpdateStore(kefu.db, kefu.clock)
    refused = _update(11, 2**64)  # no BIGINT holds this chat id: the database refuses the row
    payloads = [_update(10, 5), refused, _update(12, 6)]
    for _ in range(MAX_ATTEMPTS - 1):
        try:
            await store.store(payloads)
        except Exception as exc:  # not acknowledged: the poll asks again
            assert not is_transient(exc), exc
        else:
            pytest.fail("a refused update was acknowledged before its last try")
    assert await store.store(payloads) == 1  # update 12; update 10 was stored on the first try
    async with kefu.db.reader() as s:
        rows = {r.update_id: r for r in (await s.execute(select(TelegramUpdate))).scalars()}
    assert {k: r.status for k, r in rows.items()} == {
        10: UpdateStatus.PENDING,
        11: UpdateStatus.FAILED,
        12: UpdateStatus.PENDING,
    }
    assert rows[11].error is not None and rows[11].error.startswith("not stored: ")
    assert rows[11].chat_id is None

    await store.rerun(11)  # after a fix: the kept JSON is the update again, pending
    async with kefu.db.reader() as s:
        again = await s.get(TelegramUpdate, 11)
    assert again is not None and again.status == UpdateStatus.PENDING and again.payload == refused


async def test_a_lost_connection_is_not_counted_against_the_update(kefu: Kefu) -> None:
    store = UpdateStore(kefu.db, kefu.clock)

    async def unreachable(payloads: list[dict[str, Any]]) -> int:
        raise ConnectionRefusedError(111, "refused")

    store._store = unreachable  # type: ignore[method-assign]
    for _ in range(MAX_ATTEMPTS + 2):
        with pytest.raises(ConnectionRefusedError):
            await store.store([_update(20, 5)])
    async with kefu.db.reader() as s:
        assert (await s.execute(select(TelegramUpdate))).first() is None  # nothing set aside


async def test_failed_updates_are_listed_and_handled_again_through_the_api(api: Api) -> None:
    store = UpdateStore(api.kefu.db, api.kefu.clock)
    for _ in range(MAX_ATTEMPTS - 1):
        with contextlib.suppress(Exception):
            await store.store([_update(31, 2**64)])
    await store.store([_update(31, 2**64)])
    page = await api.call("sales", "GET", "/telegram/failed-updates")
    assert page["total"] == 1
    (item,) = page["items"]
    assert item["update_id"] == 31 and item["chat_id"] is None and item["error"].startswith("not stored: ")
    await api.error("prod", "GET", "/telegram/failed-updates", expect=403)
    assert await api.call("sales", "POST", "/telegram/failed-updates/31/rerun", expect=202) == {
        "id": 31,
        "status": "pending",
    }
    assert (await api.call("sales", "GET", "/telegram/failed-updates"))["total"] == 0
    error = await api.error("sales", "POST", "/telegram/failed-updates/31/rerun", expect=409)
    assert error["code"] == "conflict" and "pending" in error["message"]
    assert (await api.error("sales", "POST", "/telegram/failed-updates/424242/rerun", expect=404))[
        "code"
    ] == "not_found"
    bad = await api.error("sales", "POST", "/telegram/failed-updates/abc/rerun", expect=400)
    assert bad["message"].startswith("The update id must be")
