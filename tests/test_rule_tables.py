"""The rule tables an admin keeps (cases/rules/): described as data, changed through one
service call by each table's keepers, every change and refused attempt in the history; the
routing table proposes the department on the approver's form."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from cases.domain.actors import Actor
from cases.domain.enums import Channel, FailureCategory, Language, Role
from cases.domain.intake_message import IntakeMessage, NewCase
from cases.rules import store
from cases.rules.intake_holds import policy_of
from cases.rules.tables import INTAKE_HOLDS, ROUTING, SEVERITY, TABLES
from cases.store.models import RuleSetting
from intake.mailrules import RULES
from kefu.bootstrap import Kefu
from tests.apihelpers import Api, api_fixture, open_case  # noqa: F401  (the `api` fixture)
from tests.consolehelpers import Console, console_fixture  # noqa: F401  (the `console` fixture)

GM = Actor("gm", roles=frozenset({Role.APPROVER}))
SELECTED = re.compile(r'<option value="([a-z_]+)" selected>')


def test_the_intake_hold_table_names_every_restricting_mail_rule_with_its_default() -> None:
    in_code = {r.name: r.new_case.value for r in RULES if r.new_case is not NewCase.ALLOWED}
    assert INTAKE_HOLDS.defaults() == in_code


def test_every_table_has_allowed_defaults_and_the_category_tables_every_category() -> None:
    for table in TABLES.values():
        assert all(table.allows(k.default) for k in table.keys), table.name
        assert table.keepers
    for table in (SEVERITY, ROUTING):
        assert [k.name for k in table.keys] == [c.value for c in FailureCategory]


def _mail(new_case: NewCase, rule: str, hits: tuple[str, ...]) -> IntakeMessage:
    return IntakeMessage(
        channel=Channel.EMAIL,
        source_id="1",
        sender_identity="news@example.de",
        sender_name="News",
        subject="Newsletter",
        text="",
        new_text="",
        received_at=datetime(2026, 12, 1, tzinfo=UTC),
        language=Language.EN,
        new_case=new_case,
        new_case_rule=rule,
        new_case_hits=hits,
    )


def test_the_strictest_of_the_admins_policies_for_the_hits_wins() -> None:
    msg = _mail(NewCase.KNOWN_SENDER, "precedence_bulk", ("precedence_bulk", "mailing_list"))
    defaults = INTAKE_HOLDS.defaults()
    assert policy_of(msg, defaults) == (NewCase.KNOWN_SENDER, "precedence_bulk")
    relaxed = {**defaults, "precedence_bulk": "allowed"}
    assert policy_of(msg, relaxed) == (NewCase.KNOWN_SENDER, "mailing_list")
    assert policy_of(msg, {**relaxed, "mailing_list": "allowed"}) == (NewCase.ALLOWED, "")
    assert policy_of(msg, {**defaults, "mailing_list": "thread_only"}) == (NewCase.THREAD_ONLY, "mailing_list")
    # A message that names no rule of the table keeps what the intake gave it.
    assert policy_of(_mail(NewCase.THREAD_ONLY, "fax_rule", ()), defaults) == (NewCase.THREAD_ONLY, "fax_rule")


def _proposed(page: str) -> list[str]:
    form = page[page.index('id="form-approve"') :]
    return SELECTED.findall(form[: form.index("</select>")])


async def test_a_changed_routing_rule_preselects_the_department_on_the_approvers_form(console: Console) -> None:
    kefu: Kefu = console.kefu
    reference = await open_case(kefu, "卡扣装不上", "零件号 3501-00555，装配干涉。")
    gm = await console.browser("gm")
    assert _proposed(await gm.get(f"/cases/{reference}")) == []  # no category: nothing proposed
    await kefu.service.correct_form(GM, reference, {"failure_category": "fit"})
    assert _proposed(await gm.get(f"/cases/{reference}")) == ["production_equipment"]  # the default route

    assert 'action="/rules/routing"' in await gm.get("/rules/routing")
    assert (await gm.post("/rules/routing", {"key": "fit", "value": "quality"})).status == 303
    assert _proposed(await gm.get(f"/cases/{reference}")) == ["quality"]
    case = await kefu.service.rules.table("routing")
    assert {r["key"]: r["value"] for r in case["rules"]}["fit"] == "quality"
    # The approver may still choose another department.
    assert await gm.step(reference, "approve", department="technical_development") == 303
    page = await gm.get(f"/cases/{reference}")
    assert "技术开发部" in page

    page = await gm.get("/rules/routing")
    history = page[page.index('id="history-routing"') :]
    assert "gm" in history and "生产装备部 → 质量部" in history


async def test_a_department_added_later_may_be_routed_to_and_a_deactivated_one_may_not(console: Console) -> None:
    kefu: Kefu = console.kefu
    admin = Actor("admin", roles=frozenset({Role.ADMIN}))
    await kefu.departments.add(admin, "after_sales", "售后服务部", "After-sales")
    gm = await console.browser("gm")
    assert 'value="after_sales"' in await gm.get("/rules/routing")  # offered as soon as it exists
    assert (await gm.post("/rules/routing", {"key": "fit", "value": "after_sales"})).status == 303
    table = await kefu.service.rules.table("routing")
    assert {r["key"]: r["value"] for r in table["rules"]}["fit"] == "after_sales"
    reference = await open_case(kefu, "卡扣装不上", "零件号 3501-00555，装配干涉。")
    await kefu.service.correct_form(GM, reference, {"failure_category": "fit"})
    assert _proposed(await gm.get(f"/cases/{reference}")) == ["after_sales"]

    await kefu.departments.add(admin, "spare_parts", "备件部", "Spare parts")
    await kefu.departments.set_active(admin, "spare_parts", False)
    assert 'value="spare_parts"' not in await gm.get("/rules/routing")
    assert (await gm.post("/rules/routing", {"key": "safety", "value": "spare_parts"})).status == 400
    table = await kefu.service.rules.table("routing")
    assert {r["key"]: r["value"] for r in table["rules"]}["safety"] == "quality"  # unchanged


async def test_a_forged_post_by_no_keeper_changes_nothing_and_is_kept_as_refused(console: Console) -> None:
    kefu: Kefu = console.kefu
    sales = await console.browser("sales")
    assert 'action="/rules/routing"' not in await sales.get("/rules/routing")  # read-only for sales
    assert (await sales.post("/rules/routing", {"key": "fit", "value": "sales"})).status == 403
    gm = await console.browser("gm")  # keeps severity and routing, not the intake holds
    assert 'action="/rules/intake_holds"' not in await gm.get("/rules/intake_holds")
    assert (await gm.post("/rules/intake_holds", {"key": "mailing_list", "value": "allowed"})).status == 403
    async with kefu.db.reader() as s:
        assert await s.get(RuleSetting, ("routing", "fit")) is None
        assert await s.get(RuleSetting, ("intake_holds", "mailing_list")) is None
        assert (await store.values(s, INTAKE_HOLDS))["mailing_list"] == "known_sender"
    refused = (await kefu.service.rules.table("intake_holds"))["history"]
    assert [(h["outcome"], h["changed_by"], h["key"], h["new_value"]) for h in refused] == [
        ("refused", "gm", "mailing_list", "allowed")
    ]

    admin = await console.browser("admin")
    await admin.get("/rules/intake_holds")
    assert (await admin.post("/rules/intake_holds", {"key": "mailing_list", "value": "thread_only"})).status == 303
    assert (await admin.post("/rules/intake_holds", {"key": "mailing_list", "value": "never"})).status == 400
    assert (await admin.post("/rules/intake_holds", {"key": "no_such_rule", "value": "allowed"})).status == 400
    page = await admin.get("/rules/intake_holds")
    history = page[page.index('id="history-intake_holds"') :]
    assert "仅限已知联系人 → 只并入已有案件" in history and "被拒绝" in history
    await admin.post("/account/language", {"language": "en"})
    page = await admin.get("/rules/intake_holds")
    assert "Intake hold rules" in page and "only from a known contact → only joins an existing case" in page
    nav = await admin.get("/rules/failure-modes")
    assert all(f'href="/rules/{name}"' in nav for name in TABLES)


async def test_the_api_lists_the_tables_and_changes_a_key_by_its_keepers_only(api: Api) -> None:
    tables = await api.call("sales", "GET", "/rule-tables")
    assert [t["name"] for t in tables["items"]] == list(TABLES)
    routing = next(t for t in tables["items"] if t["name"] == "routing")
    assert {r["key"]: r["value"] for r in routing["rules"]}["function"] == "technical_development"
    assert routing["keepers"] == ["admin", "approver"]

    await api.error("gm", "PUT", "/rule-tables/intake_holds/precedence_bulk", {"value": "allowed"}, expect=403)
    await api.error("admin", "PUT", "/rule-tables/intake_holds/precedence_bulk", {"value": "maybe"}, expect=422)
    await api.error("admin", "GET", "/rule-tables/no_such_table", expect=404)
    changed = await api.call("admin", "PUT", "/rule-tables/intake_holds/precedence_bulk", {"value": "allowed"})
    assert changed == {
        "table": "intake_holds",
        "key": "precedence_bulk",
        "value": "allowed",
        "old_value": "known_sender",
    }
    table = await api.call("qe", "GET", "/rule-tables/intake_holds")
    assert [(h["outcome"], h["old_value"], h["new_value"]) for h in table["history"]] == [
        ("changed", "known_sender", "allowed"),
        ("refused", None, "allowed"),
    ]
    # The severity table is one of them: its own endpoint and the generic one agree.
    await api.call("gm", "PUT", "/rule-tables/severity/fit", {"value": "high"})
    severity = await api.call("sales", "GET", "/severity-rules")
    assert {"category": "fit", "grade": "high"} in severity["items"]

    reference = await open_case(api.kefu, "漏水", "零件号 1307-00210 漏水。")
    await api.call("gm", "PATCH", f"/cases/{reference}", {"failure_category": "function"})
    assert (await api.call("gm", "GET", f"/cases/{reference}"))["routed_department"] == "technical_development"
