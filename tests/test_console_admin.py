"""The admin's console pages through aiohttp's test client: adding a user who sets a password by
the one-time link, disabling (sessions and tokens stop at once), roles and department, API
tokens listed without their secret and revoked, and the rule tables kept through the same
services as the API. Non-admins are refused and change nothing."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from cases.domain.errors import Conflict, InvalidInput, NotFound
from cases.quality.warranty import PartInput
from cases.store.models import ApiToken, FailureMode, RuleSetting, User
from tests.apihelpers import open_case
from tests.consolehelpers import PASSWORD, Console, console_fixture  # noqa: F401

LINK = re.compile(r'<code id="setup-link">https?://[^<]*/setup/([A-Za-z0-9_-]+)</code>')
NEW_TOKEN = re.compile(r'<code id="new-token">([^<]+)</code>')


async def _api_status(console: Console, token: str) -> int:
    resp = await console.client.get("/api/v1/cases", headers={"Authorization": f"Bearer {token}"})
    return resp.status


async def _user(console: Console, username: str) -> User | None:
    async with console.kefu.db.reader() as s:
        return (await s.execute(select(User).where(User.username == username))).scalar_one_or_none()


async def test_an_admin_adds_a_user_who_sets_a_password_by_the_link_and_signs_in(console: Console) -> None:
    admin = await console.browser("admin")
    await admin.get("/users")
    resp = await admin.post(
        "/users",
        {
            "username": "li",
            "display_name": "李工",
            "email": "li@supplier.example",
            "roles": "quality",
            "department": "quality",
        },
    )
    page = await resp.text()
    assert resp.status == 200, page[:2000]
    link = LINK.search(page)
    assert link, page[:3000]
    added = await _user(console, "li")
    assert added is not None and added.password_hash is None and added.email == "li@supplier.example"
    assert added.role_names == {"quality"} and added.department is not None and added.department.code == "quality"

    again = await admin.get("/users")
    assert link.group(1) not in again  # the link is shown once, on the answer to the add

    li = await console.browser()
    await li.get(f"/setup/{link.group(1)}")
    set_up = await li.client.post(
        f"/setup/{link.group(1)}",
        data={
            "new_password": "a good new password",
            "new_password_again": "a good new password",
            "csrf_token": li.csrf(),
        },
        allow_redirects=False,
    )
    assert set_up.status == 303, await set_up.text()
    fresh = await console.browser()
    assert (await fresh.sign_in("li", "a good new password")).status == 303
    assert "李工" in await fresh.get("/")


async def test_adding_a_user_twice_or_with_an_unknown_role_is_refused(console: Console) -> None:
    admin = await console.browser("admin")
    await admin.get("/users")
    resp = await admin.post("/users", {"username": "gm", "roles": "approver"})
    assert resp.status == 409 and "gm" in await resp.text()
    await admin.get("/users")
    resp = await admin.post("/users", {"username": "zhao", "roles": "superuser"})
    assert resp.status == 400
    assert await _user(console, "zhao") is None


async def test_a_disabled_user_is_signed_out_at_the_next_request_and_their_token_answers_401(
    console: Console,
) -> None:
    token = (await console.kefu.users.create_token("sales")).token
    assert await _api_status(console, token) == 200
    sales = await console.browser("sales")
    await sales.get("/")

    admin = await console.browser("admin")
    await admin.get("/users")
    resp = await admin.post("/users/sales/disable", {})
    assert resp.status == 303
    assert 'action="/users/sales/enable"' in await admin.get("/users")

    gone = await sales.client.get("/", allow_redirects=False)
    assert gone.status == 303 and gone.headers["Location"].startswith("/signin")
    assert await _api_status(console, token) == 401
    assert (await (await console.browser()).sign_in("sales")).status != 303

    await admin.get("/users")
    assert (await admin.post("/users/sales/enable", {})).status == 303
    assert await _api_status(console, token) == 200  # not revoked: enabling restores it
    assert (await (await console.browser()).sign_in("sales")).status == 303


async def test_an_admin_changes_roles_and_department(console: Console) -> None:
    admin = await console.browser("admin")
    await admin.get("/users")
    resp = await admin.client.post(
        "/users/prod/roles",
        data=[("roles", "department"), ("roles", "quality"), ("department", "quality"), ("csrf_token", admin.csrf())],
        allow_redirects=False,
    )
    assert resp.status == 303
    prod = await _user(console, "prod")
    assert prod is not None and prod.role_names == {"department", "quality"}
    assert prod.department is not None and prod.department.code == "quality"

    await admin.get("/users")
    resp = await admin.post("/users/prod/roles", {"roles": "department"})  # a department member needs one
    assert resp.status == 400
    prod = await _user(console, "prod")
    assert prod is not None and prod.role_names == {"department", "quality"}


async def test_the_last_admin_cannot_be_disabled_or_lose_the_role(console: Console) -> None:
    admin = await console.browser("admin")
    await admin.get("/users")
    assert (await admin.post("/users/admin/disable", {})).status == 409
    await admin.get("/users")
    assert (await admin.post("/users/admin/roles", {"roles": "sales"})).status == 409
    me = await _user(console, "admin")
    assert me is not None and me.active and me.role_names == {"admin"}


async def test_a_non_admin_is_refused_every_admin_page_and_nothing_changes(console: Console) -> None:
    token = (await console.kefu.users.create_token("tech")).token
    gm = await console.browser("gm")
    for path in ("/users", "/tokens"):
        await gm.get(path, expect=403)
    await gm.get("/")  # a page with a form, for a valid CSRF token: only the role is missing
    posts: list[tuple[str, dict[str, str]]] = [
        ("/users", {"username": "mallory", "roles": "admin"}),
        ("/users/tech/disable", {}),
        ("/users/gm/roles", {"roles": "admin"}),
        ("/users/tech/reset-password", {}),
        ("/tokens", {"username": "gm"}),
        ("/tokens/1/revoke", {}),
    ]
    async with console.kefu.db.reader() as s:
        tokens_before = list((await s.execute(select(ApiToken.id, ApiToken.revoked_at))).all())
    for path, data in posts:
        resp = await gm.post(path, data)
        assert resp.status == 403, path
    assert await _user(console, "mallory") is None
    tech = await _user(console, "tech")
    assert tech is not None and tech.active and tech.password_hash is not None
    gm_user = await _user(console, "gm")
    assert gm_user is not None and gm_user.role_names == {"approver"}
    async with console.kefu.db.reader() as s:
        assert list((await s.execute(select(ApiToken.id, ApiToken.revoked_at))).all()) == tokens_before
    assert await _api_status(console, token) == 200
    assert 'href="/users"' not in await gm.get("/")  # not offered either


async def test_a_token_made_on_the_page_is_listed_without_its_secret_and_revoked_answers_401(
    console: Console,
) -> None:
    admin = await console.browser("admin")
    await admin.get("/tokens")
    resp = await admin.post("/tokens", {"username": "qe", "name": "erp link"})
    page = await resp.text()
    assert resp.status == 200
    found = NEW_TOKEN.search(page)
    assert found, page[:3000]
    secret = found.group(1)
    assert await _api_status(console, secret) == 200

    listed = await admin.get("/tokens")
    assert secret not in listed and "erp link" in listed
    async with console.kefu.db.reader() as s:
        row = (await s.execute(select(ApiToken).where(ApiToken.name == "erp link"))).scalar_one()
    assert row.token_hash not in listed and row.last_used_at is not None
    assert f'id="token-{row.id}"' in listed

    resp = await admin.post(f"/tokens/{row.id}/revoke", {})
    assert resp.status == 303
    assert await _api_status(console, secret) == 401
    listed = await admin.get("/tokens")
    assert f'action="/tokens/{row.id}/revoke"' not in listed  # revoked: nothing more to do
    await admin.get("/tokens")
    assert (await admin.post("/tokens/999999/revoke", {})).status == 404


async def test_a_failure_mode_added_on_the_page_is_accepted_by_a_warranty_part(console: Console) -> None:
    reference = await open_case(console.kefu, "三包索赔件退回")
    actor = await console.kefu.users.check_password("sales", PASSWORD)
    assert actor is not None
    part = PartInput(part_number="3501-00123", failure_mode="rattle-clip")
    with pytest.raises(InvalidInput):
        await console.kefu.service.warranty.add(actor, reference, part)

    qe = await console.browser("qe")
    await qe.get("/rules/failure-modes")
    resp = await qe.post(
        "/rules/failure-modes",
        {"code": "rattle-clip", "name_zh": "卡扣异响", "name_en": "clip rattle", "active": "yes"},
    )
    assert resp.status == 303
    page = await qe.get("/rules/failure-modes")
    assert "RATTLE-CLIP" in page and "卡扣异响" in page

    part_id = await console.kefu.service.warranty.add(actor, reference, part)
    assert part_id > 0


async def test_the_rule_tables_are_kept_only_by_those_the_services_allow(console: Console) -> None:
    async with console.kefu.db.reader() as s:
        seeded = await s.get(RuleSetting, ("severity", "appearance"))  # the severity table (cases/rules/)
        before = seeded.value if seeded else None
    sales = await console.browser("sales")
    page = await sales.get("/rules/severity")
    assert 'action="/rules/severity"' not in page  # read-only for sales
    resp = await sales.post("/rules/failure-modes", {"code": "FORGED", "name_zh": "伪造", "name_en": "forged"})
    assert resp.status == 403
    resp = await sales.post("/rules/severity", {"category": "appearance", "grade": "critical"})
    assert resp.status == 403
    async with console.kefu.db.reader() as s:
        assert await s.get(FailureMode, "FORGED") is None
        unchanged = await s.get(RuleSetting, ("severity", "appearance"))
        assert (unchanged.value if unchanged else None) == before != "critical"

    gm = await console.browser("gm")  # an approver keeps the severity table, not the failure modes
    page = await gm.get("/rules/severity")
    assert 'action="/rules/severity"' in page
    assert (await gm.post("/rules/severity", {"category": "appearance", "grade": "high"})).status == 303
    assert (await gm.post("/rules/severity", {"category": "appearance", "grade": "dire"})).status == 400
    async with console.kefu.db.reader() as s:
        rule = await s.get(RuleSetting, ("severity", "appearance"))
        assert rule is not None and rule.value == "high" and rule.changed_by == "gm"
    assert 'action="/rules/failure-modes"' not in await gm.get("/rules/failure-modes")


async def test_the_service_refuses_an_unknown_user_or_token_and_the_last_admin(console: Console) -> None:
    users = console.kefu.users
    with pytest.raises(NotFound):
        await users.set_active("nobody-at-all", False, by="test")
    with pytest.raises(Conflict):
        await users.set_active("admin", False, by="test")
    with pytest.raises(NotFound):
        await users.revoke_token(999999, by="test")


async def test_the_admin_pages_speak_english_too(console: Console) -> None:
    admin = await console.browser("admin")
    await admin.get("/account")
    await admin.post("/account/language", {"language": "en"})
    for path, words in (
        ("/users", "Add a user"),
        ("/tokens", "Create a token"),
        ("/rules/severity", "Severity rules"),
        ("/rules/failure-modes", "Add a failure mode"),
    ):
        assert words in await admin.get(path), path
