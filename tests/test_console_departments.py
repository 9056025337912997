"""The departments page through aiohttp's test client: a department an admin adds is at once a
choice for a case's assignment and an account; deactivating one that still has open cases is
refused in the person's language; a deactivated one is offered nowhere new; anyone else's
forged post changes nothing."""

from __future__ import annotations

from sqlalchemy import select

from cases.store.models import Case, Department
from tests.apihelpers import open_case
from tests.consolehelpers import Console, console_fixture  # noqa: F401


async def _department(console: Console, code: str) -> Department | None:
    async with console.kefu.db.reader() as s:
        return (await s.execute(select(Department).where(Department.code == code))).scalar_one_or_none()


async def _department_id(console: Console, code: str) -> int:
    dept = await _department(console, code)
    assert dept is not None
    return dept.id


async def test_a_department_added_on_the_page_is_assigned_a_case_and_given_to_a_user(console: Console) -> None:
    reference = await open_case(console.kefu, "售后网点反馈异响")
    admin = await console.browser("admin")
    await admin.get("/departments")
    resp = await admin.post("/departments", {"code": "after_sales", "name_zh": "售后服务部", "name_en": "After-sales"})
    assert resp.status == 303, await resp.text()
    listed = await admin.get("/departments")
    assert 'id="department-after_sales"' in listed and "售后服务部" in listed

    users = await admin.get("/users")
    assert '<option value="after_sales"' in users and "售后服务部" in users
    resp = await admin.client.post(
        "/users/prod/roles",
        data=[("roles", "department"), ("department", "after_sales"), ("csrf_token", admin.csrf())],
        allow_redirects=False,
    )
    assert resp.status == 303
    me = await console.kefu.users.check_password("prod", "correct horse battery")
    assert me is not None and me.department_id == await _department_id(console, "after_sales")

    gm = await console.browser("gm")
    assert '<option value="after_sales"' in await gm.get(f"/cases/{reference}")
    assert await gm.step(reference, "approve", department="after_sales") == 303
    assert "售后服务部" in await gm.get(f"/cases/{reference}")
    # the new department's member finds the case in My work and in the filtered list
    prod = await console.browser("prod")
    assert reference in await prod.get("/")
    assert reference in await prod.get("/cases?department=after_sales")

    # renamed: every page shows the new name, the code stays
    await admin.get("/departments")
    resp = await admin.post("/departments/after_sales/rename", {"name_zh": "售后部", "name_en": "After Sales"})
    assert resp.status == 303
    assert "售后部" in await gm.get(f"/cases/{reference}")

    # bad codes are refused, with nothing added
    for code in ("After-Sales", "售后", "", "9lives"):
        await admin.get("/departments")
        resp = await admin.post("/departments", {"code": code, "name_zh": "某部", "name_en": "Some"})
        assert resp.status == 400, code
    await admin.get("/departments")
    assert (await admin.post("/departments", {"code": "quality", "name_zh": "质", "name_en": "Q"})).status == 409


async def test_a_department_with_open_cases_is_not_deactivated_and_an_idle_one_is_offered_no_more(
    console: Console,
) -> None:
    reference = await open_case(console.kefu, "刹车片异响")
    gm = await console.browser("gm")
    assert await gm.step(reference, "approve", department="technical_development") == 303
    await console.kefu.users.set_active("tech", False, by="test")  # no active member left: only the case holds it

    admin = await console.browser("admin")
    page = await admin.get("/departments")
    assert 'action="/departments/technical_development/disable"' in page
    resp = await admin.post("/departments/technical_development/disable", {})
    text = await resp.text()
    assert resp.status == 409
    assert "technical_development" in text and "1 个未关闭案件" in text
    dept = await _department(console, "technical_development")
    assert dept is not None and dept.active

    # general_management: no case, no member
    await admin.get("/departments")
    assert (await admin.post("/departments/general_management/disable", {})).status == 303
    dept = await _department(console, "general_management")
    assert dept is not None and not dept.active
    case_page = await gm.get(f"/cases/{reference}")
    assert '<option value="general_management"' not in case_page
    assert '<option value="technical_development"' in case_page
    assert '<option value="general_management"' not in await admin.get("/users")
    assert await gm.step(reference, "reassign", department="general_management", note="") == 422
    async with console.kefu.db.reader() as s:
        case = (await s.execute(select(Case).where(Case.reference == reference))).scalar_one()
    assert case.department_id == await _department_id(console, "technical_development")
    await admin.get("/users")
    resp = await admin.client.post(
        "/users/prod/roles",
        data=[("roles", "department"), ("department", "general_management"), ("csrf_token", admin.csrf())],
        allow_redirects=False,
    )
    assert resp.status == 400
    # the case list's filter still names it (old cases keep their department)
    assert '<option value="general_management"' in await gm.get("/cases")

    await admin.get("/departments")
    assert (await admin.post("/departments/general_management/enable", {})).status == 303
    assert '<option value="general_management"' in await gm.get(f"/cases/{reference}")


async def test_a_non_admin_may_read_the_departments_but_a_forged_post_changes_nothing(console: Console) -> None:
    gm = await console.browser("gm")
    page = await gm.get("/departments")
    assert "质量部" in page and 'action="/departments' not in page  # read-only
    before = await console.kefu.departments.list()
    for path, data in (
        ("/departments", {"code": "mallory", "name_zh": "伪造", "name_en": "Forged"}),
        ("/departments/quality/rename", {"name_zh": "伪造", "name_en": "Forged"}),
        ("/departments/general_management/disable", {}),
    ):
        resp = await gm.post(path, data)
        assert resp.status == 403, path
    assert await console.kefu.departments.list() == before
    await (await console.browser("nobody")).get("/departments", expect=403)  # no role: no page
    history = await console.kefu.departments.history()
    assert [(h["key"], h["new_value"], h["outcome"], h["changed_by"]) for h in history] == [
        ("general_management", "inactive", "refused", "gm"),
        ("quality", "rename", "refused", "gm"),
        ("mallory", "add", "refused", "gm"),
    ]


async def test_every_change_to_a_department_is_in_its_history_with_who_and_when(console: Console) -> None:
    admin = await console.browser("admin")
    await admin.get("/departments")
    assert (
        await admin.post("/departments", {"code": "after_sales", "name_zh": "售后部", "name_en": "After-sales"})
    ).status == 303
    await admin.get("/departments")
    resp = await admin.post("/departments/after_sales/rename", {"name_zh": "售后服务部", "name_en": "After Sales"})
    assert resp.status == 303
    await admin.get("/departments")
    assert (await admin.post("/departments/after_sales/disable", {})).status == 303
    history = await console.kefu.departments.history()
    assert [(h["key"], h["old_value"], h["new_value"], h["changed_by"]) for h in history] == [
        ("after_sales", "active", "inactive", "admin"),
        ("after_sales", None, "renamed", "admin"),
        ("after_sales", None, "added", "admin"),
    ]
    assert history[1]["note"] == "售后部 / After-sales → 售后服务部 / After Sales"
    page = await admin.get("/departments")
    table = page[page.index('id="history-departments"') :]
    assert "停用" in table and "改名：售后部 / After-sales → 售后服务部 / After Sales" in table
