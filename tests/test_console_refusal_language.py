"""A refusal reaches the console in the reader's language: the same invalid or forged form
answers a Chinese-language user in Chinese and an English-language user in English
(CaseError.text, cases/domain/errors.py), while the audit and the logs keep the English."""

from __future__ import annotations

import re

from kefu.bootstrap import Kefu
from tests.apihelpers import open_case
from tests.consolehelpers import PASSWORD, Browser, Console, console_fixture  # noqa: F401

STEP_ERROR = re.compile(r'<p class="error" role="alert" id="step-error">([^<]*)</p>')


def _step_error(page: str) -> str:
    """The refusal the case page shows above its forms (the timeline keeps the audit's English)."""
    found = STEP_ERROR.search(page)
    assert found, page[:2000]
    return found.group(1)


async def _english(kefu: Kefu, username: str, role: str) -> None:
    await kefu.users.add(username, roles=[role], email=f"{username}@supplier.example", password=PASSWORD, language="en")


async def _add_user_with_unknown_role(admin: Browser) -> tuple[int, str]:
    await admin.get("/users")
    resp = await admin.post("/users", {"username": "zhao", "roles": "superuser"})
    return resp.status, await resp.text()


async def test_an_invalid_admin_form_is_refused_in_each_users_language(console: Console) -> None:
    await _english(console.kefu, "admin_en", "admin")
    status, page = await _add_user_with_unknown_role(await console.browser("admin"))
    assert status == 400
    assert "未执行：未知的角色" in page and "superuser" in page
    assert "unknown role" not in page and "Not done" not in page

    status, page = await _add_user_with_unknown_role(await console.browser("admin_en"))
    assert status == 400
    assert "Not done: unknown role" in page and "superuser" in page
    assert "未知的角色" not in page and "未执行" not in page


async def test_a_forged_step_is_refused_in_each_users_language(console: Console) -> None:
    await _english(console.kefu, "gm_en", "approver")
    reference = await open_case(console.kefu, "刹车片异响")
    gm = await console.browser("gm")
    assert await gm.step(reference, "approve", department="quality") == 303

    # approving again: the form is no longer offered, so only a forged post can send it
    resp = await gm.post(f"/cases/{reference}/act/approve", {"department": "sales"})
    page = await resp.text()
    assert resp.status in (403, 409), page[:2000]
    refusal = _step_error(page)
    assert refusal.startswith("未执行：") and reference in refusal
    assert "is not a step" not in refusal and "cannot approve" not in refusal

    gm_en = await console.browser("gm_en")
    await gm_en.get(f"/cases/{reference}")
    resp = await gm_en.post(f"/cases/{reference}/act/approve", {"department": "sales"})
    page = await resp.text()
    assert resp.status in (403, 409), page[:2000]
    refusal = _step_error(page)
    assert refusal.startswith("Not done: ") and reference in refusal
    assert "未执行" not in page and "您现在不能" not in page
