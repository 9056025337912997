"""The API against its own description: schemathesis over /api/v1/openapi.json with an admin's
and a department member's token (kefu served on loopback), and the integers of issue 17, item 5
by hand: out of range, negative, zero, text, 1e3 and true are a 400 naming the field, never a
500 from the database."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from cases.settings import Settings
from kefu.bootstrap import Kefu
from tests.apihelpers import Api, api_fixture, open_case  # noqa: F401  (the `api` fixture)
from tests.conftest import ListTransport
from tests.schemathesis_run import Fuzz, run
from tests.served import served

TOO_BIG = 2**63  # one past BIGINT


async def test_api_answers_as_its_description_says(settings: Settings) -> None:
    fuzz = Fuzz.from_env()
    async with served(settings, transport=ListTransport()) as kefu:
        # A customer, contact and case #1, so that small generated ids find something.
        await open_case(kefu, "刹车片异响")
        await kefu.users.add("admin", roles=["admin"], email="admin@supplier.example")
        await kefu.users.add(
            "prod", roles=["department"], department="production_equipment", email="p@supplier.example"
        )
        host, port = kefu.settings.http_listen
        for who in ("admin", "prod"):
            token = (await kefu.users.create_token(who)).token
            started = time.monotonic()
            found = await asyncio.to_thread(run, f"http://{host}:{port}", token, fuzz)
            print(f"schemathesis as {who}: {found.cases} cases, seed {found.seed}, {time.monotonic() - started:.1f} s")
            assert found.cases >= 100, found.cases  # it did run
            assert not found.failures, f"as {who} (seed {found.seed}):\n\n" + "\n\n".join(found.failures[:20])


BAD_INTEGERS: list[tuple[Any, str]] = [
    (TOO_BIG, "between 1 and 9223372036854775807"),
    (-1, "between 1 and"),
    (0, "between 1 and"),
    ("abc", "must be a whole number"),
    (1e3, "must be a whole number, not 1000.0"),
    (True, "must be a whole number, not a boolean"),
]


@pytest.mark.parametrize(("value", "says"), BAD_INTEGERS, ids=["2^63", "-1", "0", "abc", "1e3", "true"])
async def test_out_of_range_integers_in_a_body_are_a_400_naming_the_field(api: Api, value: Any, says: str) -> None:
    for path, body, name in [
        ("/merges", {"kind": "customer", "source": value, "target": 1}, "source"),
        ("/merges", {"kind": "contact", "source": 1, "target": value}, "target"),
        ("/entries/phone", {"customer": value, "subject": "异响"}, "customer"),
        ("/entries/phone", {"contact": value, "subject": "异响"}, "contact"),
    ]:
        if name == "customer" and value == "abc":
            continue  # a text is a customer's code or name
        error = await api.error("admin", "POST", path, body, expect=400)
        assert error["code"] == "bad_request"
        assert f"'{name}'" in error["message"] and says in error["message"], (path, error)
    if value not in (0, TOO_BIG):  # a quantity may be 0, and its own maximum is 2^31-1
        error = await api.error("admin", "POST", "/entries/phone", {"quantity": value, "subject": "x"}, expect=400)
        assert "'quantity'" in error["message"], error
    error = await api.error("admin", "PATCH", "/contacts/1", {"customer_id": value}, expect=400)
    assert "'customer_id'" in error["message"] and says in error["message"], error


async def test_a_quantity_beyond_the_column_is_a_400(api: Api) -> None:
    body = {"quantity": 2**31, "subject": "异响"}
    error = await api.error("admin", "POST", "/entries/phone", body, expect=400)
    assert "'quantity' must be between 0 and 2147483647" in error["message"], error


@pytest.mark.parametrize(
    "raw", ["9223372036854775808", "-1", "0", "abc", "1e3", "true", "1.0", "²", "%20%201"], ids=repr
)
async def test_out_of_range_ids_in_the_path_are_a_400_naming_the_id(api: Api, raw: str) -> None:
    for method, path, what, body in [
        ("GET", f"/customers/{raw}", "customer id", None),
        ("POST", f"/customers/{raw}/contacts", "customer id", {"name": "王"}),
        ("POST", f"/merges/{raw}/undo", "merge id", None),
        ("POST", f"/inbound/{raw}/rerun", "inbound message id", None),
        ("POST", f"/notifications/set-aside/{raw}/rerun", "event id", None),
        ("PATCH", f"/contacts/{raw}", "contact id", {"name": "王"}),
        ("POST", f"/contacts/{raw}/identities", "contact id", {"kind": "email", "value": "w@dfmc-parts.cn"}),
        ("GET", f"/cases/FB-2026-000001/attachments/{raw}", "attachment id", None),
    ]:
        error = await api.error("admin", method, path, body, expect=400)
        assert error["message"].startswith(f"The {what} must be"), (path, error)


@pytest.mark.parametrize(
    ("query", "says"),
    [
        (f"offset={TOO_BIG}", "'offset' must be between 0 and 1000000"),
        ("offset=-1", "'offset' must be between 0"),
        ("offset=abc", "'offset' must be a whole number"),
        ("offset=1e3", "'offset' must be a whole number"),
        ("offset=", "'offset' must be a whole number, got ''"),
        ("limit=0", "'limit' must be between 1 and 200"),
        ("limit=201", "'limit' must be between 1 and 200"),
        ("limit=true", "'limit' must be a whole number"),
        (f"customer_id={TOO_BIG}", "'customer_id' must be between 1 and 9223372036854775807"),
        ("customer_id=0", "'customer_id' must be between 1"),
        ("state=", "'state' must be one of"),
        ("received_to=", "'received_to' must be a date"),
        ("q=%00", "'q' holds a NUL"),
    ],
)
async def test_out_of_range_query_integers_are_a_400_naming_the_parameter(api: Api, query: str, says: str) -> None:
    error = await api.error("admin", "GET", f"/cases?{query}", expect=400)
    assert says in error["message"], error
    if query.startswith(("offset", "limit")):
        for path in ("/inbound", "/notifications/set-aside"):
            assert says in (await api.error("admin", "GET", f"{path}?{query}", expect=400))["message"]


async def test_the_largest_id_is_looked_up_not_refused(api: Api) -> None:
    """2^63-1 fits the column: not found, from the database, not a 400 or a 500."""
    biggest = 2**63 - 1
    await api.error("admin", "GET", f"/customers/{biggest}", expect=404)
    await api.error("admin", "POST", "/merges", {"kind": "customer", "source": biggest, "target": 1}, expect=404)
    page = await api.call("admin", "GET", "/cases?offset=1000000&limit=200")
    assert page["items"] == []


async def test_a_digit_text_customer_is_an_id_no_customer_can_have(api: Api, kefu: Kefu) -> None:
    """A text is a valid customer reference (the description says so): one of digits that no id
    can be is no such customer (422), looked up nowhere, never a 500."""
    for text in (str(TOO_BIG), "0000"):
        error = await api.error("admin", "POST", "/entries/phone", {"customer": text, "subject": "x"}, expect=422)
        assert f"no customer #{text}" in error["message"], error
    created = await api.call("admin", "POST", "/entries/phone", {"customer": "²", "subject": "x"}, expect=201)
    assert created["customer_id"] >= 1  # "²" is a name, not a digit
