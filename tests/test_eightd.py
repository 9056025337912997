"""The 8D through the REST API (issue 14), on SQLite and PostgreSQL: a critical complaint forms
a review team of three departments, walks D0-D8 in order, is refused when a step is skipped or
signed by the wrong role, links to an earlier complaint with the same part and failure mode,
and renders a PDF whose text carries the reference and the D3 containment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from cases.domain.actors import Actor
from cases.domain.enums import Role
from cases.store.models import OutboxEvent
from kefu.documents.render import Header, eightd_html
from notifications.render import Renderer
from tests.apihelpers import Api, api_fixture, assign, open_case  # noqa: F401  (the `api` fixture)
from tests.quality_helpers import pdf_text, pdf_tools_missing
from tests.test_render import LEFTOVERS, REFERENCE, sample_context

CONTENT: dict[str, dict[str, Any]] = {
    "D0": {"actions": "冻结库存，通知顾客暂停装车", "notified": "顾客质量部 李经理"},
    "D1": {"note": "跨部门小组"},
    "D2": {
        "statement": "刹车片装车后异响",
        "what": {"is": "刹车片 3501-00123 异响", "is_not": "其他零件号"},
        "where": {"is": "顾客总装线", "is_not": "本厂终检"},
        "when": {"is": "2026-09 批次", "is_not": "此前批次"},
        "how_many": {"is": "12 件", "is_not": "整批"},
    },
    "D3": {
        "actions": [
            {
                "action": "Sort all stock of batch B2026-1107",
                "where": "at_customer",
                "sorted": 480,
                "found_bad": 12,
                "result": "12 noisy parts quarantined",
                "date": "2026-10-09",
            },
            {
                "action": "库存挑选",
                "where": "our_plant",
                "sorted": 1200,
                "found_bad": 0,
                "result": "无不良",
                "date": "2026-10-09",
            },
        ]
    },
    "D4": {
        "occurrence": {
            "whys": ["摩擦材料配比偏差", "称量设备未校准", "校准计划遗漏"],
            "category": "machine",
            "root_cause": "称量秤未纳入校准计划",
        },
        "escape": {"whys": ["终检未测噪声"], "category": "method", "root_cause": "检验规程缺少噪声项"},
    },
    "D5": {"actions": [{"action": "秤纳入校准计划", "addresses": "occurrence", "owner": "prod", "due": "2026-10-20"}]},
    "D6": {
        "implemented": [{"action": "秤纳入校准计划", "done_on": "2026-10-18"}],
        "effectiveness": {"evidence": "连续三批噪声测试合格", "from": "2026-10-19", "result": "有效"},
    },
    "D7": {
        "documents": [
            {"document": "control_plan", "title": "刹车片控制计划", "revision": "C"},
            {"document": "pfmea", "title": "刹车片 PFMEA", "revision": "D"},
        ]
    },
    "D8": {"closure": "小组关闭 8D，感谢各部门"},
}
STEPS = list(CONTENT)
TEAM = [
    {"name": "王工", "department": "production_equipment", "leader": True, "username": "prod"},
    {"name": "李工", "department": "quality", "username": "qe"},
    {"name": "赵工", "department": "technical_development", "username": "tech"},
]
# Who signs each step in this walk: the responsible department up to D6, Quality D7, the approver D8.
SIGNER = {**{s: "prod" for s in STEPS[:7]}, "D7": "qe", "D8": "gm"}


async def _critical_case(api: Api, subject: str = "刹车片异响") -> str:
    ref = await open_case(api.kefu, subject, "零件号：3501-00123\n批次：B2026-1107\n装车后刹车片异响。")
    await assign(api, ref, "production_equipment")
    corrected = await api.call(
        "qe", "PATCH", f"/cases/{ref}", {"failure_category": "safety", "failure_mode": "NOISE", "quantity": 12}
    )
    assert corrected["changes"]["severity"][1] == "critical"
    return ref


async def _record(api: Api, who: str, ref: str, step: str, *, expect: int = 200) -> Any:
    return await api.call(who, "PUT", f"/cases/{ref}/8d/steps/{step}", {"content": CONTENT[step]}, expect=expect)


async def _sign(api: Api, who: str, ref: str, step: str, *, expect: int = 200) -> Any:
    return await api.call(who, "POST", f"/cases/{ref}/8d/steps/{step}/sign", {}, expect=expect)


async def test_a_critical_complaint_walks_the_8d_with_its_review_team(api: Api) -> None:
    earlier = await _critical_case(api, "刹车片异响（上月）")
    ref = await _critical_case(api)

    # The repeat: same part number and failure mode as the open earlier case, shown on both.
    case = await api.call("gm", "GET", f"/cases/{ref}")
    assert case["repeat_of"] == [{"reference": earlier, "part_number": "3501-00123", "failure_mode": "NOISE"}]
    assert case["severity"] == "critical" and case["failure_category"] == "safety"
    assert (await api.call("gm", "GET", f"/cases/{earlier}"))["repeated_by"][0]["reference"] == ref
    # A critical case takes no short path.
    error = await api.error("prod", "POST", f"/cases/{ref}/analysis", {"analysis": "x"}, expect=409)
    assert "8D" in error["message"]

    # The review team: three departments, one leader. Technical development may now read the
    # case, but takes none of its steps.
    await api.error("tech", "GET", f"/cases/{ref}", expect=404)
    await api.error("prod", "PUT", f"/cases/{ref}/review-team", {"members": TEAM}, expect=403)
    await api.call("gm", "PUT", f"/cases/{ref}/review-team", {"members": TEAM})
    seen = await api.call("tech", "GET", f"/cases/{ref}")
    assert {m["department"] for m in seen["review_team"]} == {
        "production_equipment",
        "quality",
        "technical_development",
    }
    await api.error("tech", "PUT", f"/cases/{ref}/8d/steps/D0", {"content": CONTENT["D0"]}, expect=403)

    states = {}
    for step in STEPS:
        if step != "D0":
            # Skipping: the next step cannot be written before this one is signed.
            later = STEPS[STEPS.index(step) + 1] if step != "D8" else None
            if later:
                await _record(api, "prod", ref, later, expect=409)
        await _record(api, "prod", ref, step)
        if step == "D7":
            # D7 is Quality's verification: the department may write it but not sign it.
            error = await api.error("prod", "POST", f"/cases/{ref}/8d/steps/D7/sign", {}, expect=403)
            assert "quality" in error["message"]
        if step == "D4":
            await api.error("sales", "POST", f"/cases/{ref}/8d/steps/D4/sign", {}, expect=403)
        states[step] = (await _sign(api, SIGNER[step], ref, step))["state"]
        await _sign(api, SIGNER[step], ref, step, expect=409)  # signed once

    assert states["D3"] == "assigned" and states["D4"] == "analysed"
    assert states["D5"] == "analysed" and states["D6"] == "measures_taken"
    assert states["D7"] == "verified" and states["D8"] == "verified"

    eightd = await api.call("tech", "GET", f"/cases/{ref}/8d")
    assert eightd["next_step"] is None and eightd["revision"] == 1
    d1 = eightd["steps"][1]["current"]
    assert d1["content"]["team"] == ["王工 (production_equipment) *", "李工 (quality)", "赵工 (technical_development)"]
    d7 = eightd["steps"][7]["current"]
    assert (d7["signed_by"], d7["signed_role"]) == ("qe", "quality")

    case = await api.call("gm", "GET", f"/cases/{ref}")
    actions = [(h["action"], h["to_state"]) for h in case["history"] if h["to_state"]]
    assert actions[-3:] == [
        ("record_analysis", "analysed"),
        ("record_measures", "measures_taken"),
        ("verify", "verified"),
    ]
    assert "称量秤未纳入校准计划" in case["analysis"] and "control_plan" in case["verification"]

    # The customer rejects D4: a new revision from D4 on, the case back before its analysis.
    await api.error("prod", "POST", f"/cases/{ref}/8d/return", {"step": "D4", "comment": "x"}, expect=403)
    back = await api.call("sales", "POST", f"/cases/{ref}/8d/return", {"step": "D4", "comment": "逃逸原因不充分"})
    assert back["state"] == "assigned"
    eightd = await api.call("qe", "GET", f"/cases/{ref}/8d")
    assert eightd["revision"] == 2 and eightd["next_step"] == "D4" and eightd["customer_comment"] == "逃逸原因不充分"
    d4 = eightd["steps"][4]
    assert d4["current"]["signed_at"] is None and d4["current"]["customer_comment"] == "逃逸原因不充分"
    assert d4["current"]["report_revision"] == 2 and d4["earlier"][0]["signed_by"] == "prod"
    assert eightd["steps"][3]["current"]["version"] == 1  # D3 stands
    await _sign(api, "prod", ref, "D5", expect=409)  # D4 first
    assert (await _sign(api, "prod", ref, "D4"))["state"] == "analysed"

    # The staff notices: the repeat, the team, the customer's rejection (and the usual steps).
    async with api.kefu.db.reader() as s:
        kinds = list((await s.execute(select(OutboxEvent.kind).order_by(OutboxEvent.id))).scalars())
    for kind in ("repeat_found", "review_team_formed", "measures_recorded", "case_verified", "eightd_returned"):
        assert kind in kinds


async def test_low_and_medium_cases_keep_the_short_path_and_have_no_8d(api: Api) -> None:
    ref = await open_case(api.kefu, "包装标签错误", "零件号：3501-00999\n标签印错。")
    await assign(api, ref, "quality")
    corrected = await api.call("qe", "PATCH", f"/cases/{ref}", {"failure_category": "documentation"})
    assert corrected["changes"]["severity"] == ["medium", "low"]
    await api.error("qe", "PUT", f"/cases/{ref}/8d/steps/D0", {"content": CONTENT["D0"]}, expect=409)
    assert await api.step("qe", ref, "analysis", analysis="标签模板错误") == "analysed"


async def test_the_form_is_corrected_by_role_and_the_approvers_severity_wins(api: Api) -> None:
    ref = await open_case(api.kefu, "外观划伤", "零件号：3501-00777\n外观划伤。")
    await assign(api, ref, "production_equipment")
    error = await api.error("prod", "PATCH", f"/cases/{ref}", {"severity": "low"}, expect=403)
    assert "approver" in error["message"]
    await api.error("tech", "PATCH", f"/cases/{ref}", {"batch": "B1"}, expect=404)  # another department's case
    await api.call("gm", "PATCH", f"/cases/{ref}", {"severity": "high"})
    # The table would say "fit -> medium", raised by the field failure to high; the approver chose.
    after = await api.call("qe", "PATCH", f"/cases/{ref}", {"failure_category": "appearance", "field_failure": True})
    assert "severity" not in after["changes"]
    await api.call("prod", "PATCH", f"/cases/{ref}", {"batch": "B2026-1201", "quantity": 3})
    case = await api.call("gm", "GET", f"/cases/{ref}")
    assert case["severity"] == "high" and case["severity_by_approver"] is True
    corrections = [h for h in case["history"] if h["action"] == "form_corrected"]
    assert corrections[0]["changes"]["severity"] == ["medium", "high"]
    assert corrections[-1]["changes"] == {"batch": [None, "B2026-1201"], "quantity": [None, 3]}
    assert corrections[-1]["actor"] == "prod"
    await api.error("qe", "PATCH", f"/cases/{ref}", {"failure_mode": "no-such-mode"}, expect=422)


async def test_the_severity_table_is_the_admins(api: Api) -> None:
    await api.error("qe", "PUT", "/severity-rules/fit", {"grade": "high"}, expect=403)
    assert await api.call("admin", "PUT", "/severity-rules/fit", {"grade": "high"}) == {
        "category": "fit",
        "grade": "high",
    }
    ref = await open_case(api.kefu, "装配干涉", "零件号：3501-00555\n装不上。")
    await assign(api, ref, "quality")
    corrected = await api.call("qe", "PATCH", f"/cases/{ref}", {"failure_category": "fit", "quantity": 500})
    assert corrected["changes"]["severity"] == ["medium", "critical"]  # high, one up for the quantity


async def test_the_8d_renders_as_a_pdf_with_the_reference_and_the_containment(api: Api, tmp_path: Path) -> None:
    missing = pdf_tools_missing()
    if missing:
        pytest.skip(missing)
    ref = await _critical_case(api)
    await api.call("gm", "PUT", f"/cases/{ref}/review-team", {"members": TEAM})
    for step in STEPS[:4]:
        await _record(api, "prod", ref, step)
        await _sign(api, "prod", ref, step)
    headers = {"Authorization": f"Bearer {api.tokens['qe']}"}
    resp = await api.client.get(f"/api/v1/cases/{ref}/8d/document?language=en", headers=headers)
    assert resp.status == 200 and resp.content_type == "application/pdf"
    text = pdf_text(await resp.read(), tmp_path)
    assert ref in text
    assert "Sort all stock of batch B2026-1107" in text and "12 noisy parts quarantined" in text
    assert "库存挑选" in text  # the Chinese containment, in the CJK font
    html = await api.client.get(f"/api/v1/cases/{ref}/8d/document?format=html&language=zh", headers=headers)
    assert html.status == 200 and "临时遏制措施" in await html.text()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_operator_shows_the_8d_and_writes_its_document_from_the_command_line(
    api: Api, tmp_path: Path
) -> None:
    """`kefu 8d show` says where each step stands; `kefu 8d document` writes what the customer
    gets, in a real subprocess on the same database."""
    ref = await _critical_case(api)
    await api.call("gm", "PUT", f"/cases/{ref}/review-team", {"members": TEAM})
    for step in STEPS[:4]:
        await _record(api, "prod", ref, step)
        await _sign(api, "prod", ref, step)
    await _record(api, "prod", ref, "D4")
    settings = api.kefu.settings
    env = {
        **os.environ,
        "KEFU_DATA_DIR": str(settings.data_dir),
        "KEFU_DATABASE_URL": settings.database_url,
        "KEFU_SECRET_KEY": "test",
        "KEFU_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),  # this checkout's kefu, from tmp_path
    }

    def kefu(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "kefu", *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
        )

    shown = kefu("8d", "show", ref.lower())
    assert shown.returncode == 0, shown.stderr
    lines = {line.split()[0]: line for line in shown.stdout.splitlines()[3:]}
    assert "王工 (production_equipment, leader)" in shown.stdout
    assert "signed by prod (department)" in lines["D3"]
    assert "recorded by prod" in lines["D4"] and "not signed (next: to sign)" in lines["D4"]
    assert lines["D5"].endswith(" -")
    as_json = json.loads(kefu("8d", "show", ref, "--json").stdout)
    assert as_json["next_step"] == "D4" and as_json["steps"][3]["current"]["content"] == CONTENT["D3"]
    missing = kefu("8d", "show", "FB-2099-999999")
    assert missing.returncode == 1 and "FB-2099-999999" in missing.stderr
    html = kefu("8d", "document", ref, "--format", "html", "--language", "en")
    assert html.returncode == 0 and html.stdout.strip() == f"{ref}-8D.html"
    assert "Sort all stock of batch B2026-1107" in (tmp_path / f"{ref}-8D.html").read_text()
    if pdf_tools_missing() is None:
        out = tmp_path / "audit.pdf"
        assert kefu("8d", "document", ref, "--out", str(out)).returncode == 0
        assert ref in pdf_text(out.read_bytes(), tmp_path) and "库存挑选" in pdf_text(out.read_bytes(), tmp_path)


async def test_quality_keeps_the_failure_mode_list(api: Api) -> None:
    body = {"name_zh": "制动异响", "name_en": "Brake noise"}
    await api.error("prod", "PUT", "/failure-modes/NOISE-BRAKE", body, expect=403)
    await api.error("qe", "PUT", "/failure-modes/noise brake", body, expect=422)
    assert await api.call("qe", "PUT", "/failure-modes/NOISE-BRAKE", body) == {
        "code": "NOISE-BRAKE",
        **body,
        "active": True,
    }
    assert {"code": "NOISE-BRAKE", **body, "active": True} in (await api.call("sales", "GET", "/failure-modes"))[
        "items"
    ]
    ref = await open_case(api.kefu, "制动异响", "零件号：3501-00123\n异响。")
    await assign(api, ref, "quality")
    await api.call("qe", "PATCH", f"/cases/{ref}", {"failure_mode": "NOISE-BRAKE"})
    await api.call("qe", "PUT", "/failure-modes/NOISE-BRAKE", {**body, "active": False})  # retired
    await api.error("qe", "PATCH", f"/cases/{ref}", {"failure_mode": "NOISE-BRAKE"}, expect=422)


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize(
    ("event", "details"),
    [
        ("repeat_found", {"earlier": "FB-2026-000001", "part_number": "3501-00123", "failure_mode": "NOISE"}),
        ("review_team_formed", {"team": "王工 (production_equipment) *; 李工 (quality)", "leader": "王工"}),
        ("eightd_returned", {"step": "D4", "comment": "逃逸原因不充分", "revision": 2}),
    ],
)
def test_the_8d_staff_notices_render_with_their_details(event: str, details: dict[str, Any], language: str) -> None:
    out = Renderer().render("staff", event, "email", language, sample_context(details=details))
    assert out.subject.startswith(f"[{REFERENCE}] ") and REFERENCE in out.body
    assert not LEFTOVERS.search(out.subject + out.body)
    assert all(str(v).split(" ")[0] in out.subject + out.body for v in details.values())


def test_the_document_header_carries_the_supplier_and_the_logo_inline(tmp_path: Path) -> None:
    logo = tmp_path / "logo.png"
    logo.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 16)
    data = {
        "reference": "FB-2026-000123",
        "subject": "刹车片异响",
        "severity": "critical",
        "customer_name": "东风汽车",
        "contact_name": "张伟",
        "part_number": "3501-00123",
        "batch": None,
        "quantity": None,
        "failure_mode": None,
        "received_at": "2026-10-08T02:00:00Z",
        "revision": 1,
        "returned_step": None,
        "customer_comment": None,
        "team": [],
        "steps": [{"step": f"D{i}", "title_zh": "步", "title_en": "step", "current": None} for i in range(9)],
    }
    html = eightd_html(data, Header("东风零部件有限公司", str(logo)), "zh")
    assert "东风零部件有限公司" in html and 'src="data:image/png;base64,' in html and "FB-2026-000123" in html
    without = eightd_html(data, Header("Supplier", str(tmp_path / "missing.png")), "en")
    assert "<img" not in without and "8D report" in without


async def test_a_case_raised_to_high_after_its_analysis_continues_in_the_8d(api: Api) -> None:
    ref = await open_case(api.kefu, "刹车片异响", "零件号：3501-00123\n异响。")
    await assign(api, ref, "production_equipment")
    assert await api.step("prod", ref, "analysis", analysis="初步分析") == "analysed"
    await api.call("gm", "PATCH", f"/cases/{ref}", {"severity": "high"})
    await api.error("prod", "POST", f"/cases/{ref}/measures", {"measures": "x"}, expect=409)
    await api.call("qe", "PUT", f"/cases/{ref}/review-team", {"members": TEAM})
    for step in STEPS[:6]:
        await _record(api, "prod", ref, step)
        assert (await _sign(api, "prod", ref, step))["state"] == "analysed"  # D4 finds it analysed already
    await _record(api, "prod", ref, "D6")
    assert (await _sign(api, "prod", ref, "D6"))["state"] == "measures_taken"


async def test_a_deactivated_department_joins_no_new_review_team_but_stays_on_its_own(api: Api) -> None:
    admin = Actor("admin", roles=frozenset({Role.ADMIN}))
    await api.kefu.departments.add(admin, "after_sales", "售后服务部", "After-sales")
    team = [*TEAM, {"name": "周工", "department": "after_sales"}]
    ref = await _critical_case(api)
    await api.call("gm", "PUT", f"/cases/{ref}/review-team", {"members": team})
    await api.kefu.departments.set_active(admin, "after_sales", False)
    # the team it is already on may be named again with it
    await api.call("gm", "PUT", f"/cases/{ref}/review-team", {"members": team})
    other = await _critical_case(api, "刹车片异响（另一批）")
    error = await api.error("gm", "PUT", f"/cases/{other}/review-team", {"members": team}, expect=422)
    assert "after_sales" in error["message"] and "deactivated" in error["message"]
    await api.call("gm", "PUT", f"/cases/{other}/review-team", {"members": TEAM})
