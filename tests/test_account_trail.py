"""The account trail: every change to an account or token is recorded with who made it, from
the console and from the service calls the CLI makes, and shown on the users page; secrets
never are."""

from __future__ import annotations

import re

from cases.services.account_trail import AccountTrail
from tests.consolehelpers import Console, console_fixture  # noqa: F401

LINK = re.compile(r'<code id="setup-link">https?://[^<]*/setup/([A-Za-z0-9_-]+)</code>')


async def test_changes_on_the_page_are_recorded_with_the_admins_name(console: Console) -> None:
    admin = await console.browser("admin")
    await admin.get("/users")
    resp = await admin.post("/users/tech/reset-password", {})
    link = LINK.search(await resp.text())
    assert link
    await admin.get("/users")
    assert (await admin.post("/users/sales/disable", {})).status == 303
    await admin.get("/tokens")
    created = await admin.post("/tokens", {"username": "qe", "name": "erp"})
    secret = re.search(r'<code id="new-token">([^<]+)</code>', await created.text())
    assert secret

    trail = await AccountTrail(console.kefu.db).latest()
    seen = [(e.actor, e.action.value, e.username) for e in trail]
    assert seen[:3] == [
        ("admin", "token_created", "qe"),
        ("admin", "disabled", "sales"),
        ("admin", "password_reset", "tech"),
    ]
    for e in trail:  # no secret in any detail
        assert link.group(1) not in e.detail and secret.group(1) not in e.detail

    page = await admin.get("/users")
    assert 'class="trail-password_reset"><td>' in page and "管理员重置密码" in page
    own = await admin.get("/users?trail=tech")
    assert "tech 的账户变更记录" in own and "trail-disabled" not in own and "trail-password_reset" in own

    # the person sets the password by the link, then changes it: both recorded as their own
    tech = await console.browser()
    await tech.get(f"/setup/{link.group(1)}")
    data = {"new_password": "a good new password", "new_password_again": "a good new password"}
    assert (await tech.post(f"/setup/{link.group(1)}", data)).status == 303
    await tech.get("/account")
    changed = {
        "current_password": "a good new password",
        "new_password": "another good password",
        "new_password_again": "another good password",
    }
    assert (await tech.post("/account/password", changed)).status in (200, 303)
    mine = [(e.actor, e.action.value) for e in await AccountTrail(console.kefu.db).latest("tech")]
    assert mine == [
        ("tech", "password_changed"),
        ("tech", "password_set"),
        ("admin", "password_reset"),
        ("system", "user_added"),  # by the fixture, as by the first start
    ]


async def test_a_refused_change_leaves_no_trace_and_a_forged_post_neither(console: Console) -> None:
    before = await AccountTrail(console.kefu.db).latest()
    admin = await console.browser("admin")
    await admin.get("/users")
    assert (await admin.post("/users/admin/disable", {})).status == 409  # the last admin
    gm = await console.browser("gm")
    await gm.get("/")
    assert (await gm.post("/users/tech/reset-password", {})).status == 403
    assert await AccountTrail(console.kefu.db).latest() == before
