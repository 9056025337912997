"""A Telegram update the database refuses for a reason of its own is set aside after a few
tries, and the updates after it go on (issue 17, "Faults" 3); staff can put it back."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bots.updates import MAX_ATTEMPTS, UpdateStore
from cases.store.faults import is_transient
from cases.store.models import TelegramUpdate, UpdateStatus
from kefu.bootstrap import Kefu


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
