"""The procedure's workflow through the REST API: each step by its role, refusals with clear
messages, request validation, and the department rule on every read and write."""

from __future__ import annotations

import pytest

from tests.apihelpers import Api, api_fixture, assign, open_case  # noqa: F401  (the `api` fixture)


async def test_a_complaint_goes_through_the_whole_procedure_by_each_role(api: Api) -> None:
    ref = await open_case(api.kefu, "刹车片异响", "零件号：3501-00123\n装车后刹车片异响。")

    # A low case: the short path (high and critical take the 8D instead, tests/test_eightd.py).
    assert await api.step("gm", ref, "approve", department="quality", severity="low", note="单件偶发") == "assigned"
    assert (await api.call("qe", "GET", f"/cases/{ref}"))["allowed_actions"] == ["analysis"]
    assert await api.step("qe", ref, "analysis", analysis="摩擦材料批次配方偏差") == "analysed"
    assert await api.step("qe", ref, "measures", measures="更换批次，加严来料检验") == "measures_taken"
    assert await api.step("qe", ref, "verify", verification="复测合格") == "verified"
    assert (await api.call("sales", "GET", f"/cases/{ref}"))["allowed_actions"] == ["reply"]
    assert await api.call("sales", "POST", f"/cases/{ref}/reply", {"message": "已更换并加严检验。"}) == {
        "reference": ref,
        "state": "awaiting_satisfaction",
    }

    case = await api.call("gm", "GET", f"/cases/{ref}")
    assert case["state"] == "awaiting_satisfaction" and case["department"] == "quality"
    assert case["severity"] == "low" and case["analysis"] == "摩擦材料批次配方偏差"
    assert case["satisfaction_requested_at"] is not None
    steps = [(h["action"], h["from_state"], h["to_state"], h["actor"]) for h in case["history"]]
    assert steps == [
        ("opened", None, "new", "customer:zhang.wei@dfmc-parts.cn"),
        ("approve", "new", "assigned", "gm"),
        ("record_analysis", "assigned", "analysed", "qe"),
        ("record_measures", "analysed", "measures_taken", "qe"),
        ("verify", "measures_taken", "verified", "qe"),
        ("reply", "verified", "awaiting_satisfaction", "sales"),
    ]
    approve = case["history"][1]
    assert approve["changes"]["severity"] == ["medium", "low"]
    assert approve["changes"]["severity_by_approver"] == [False, True]
    assert approve["changes"]["department_id"][0] is None and approve["note"] == "单件偶发"
    assert case["history"][2]["changes"] == {"analysis": [None, "摩擦材料批次配方偏差"]}
    out = case["messages"][-1]
    assert out["direction"] == "out" and out["author"] == "sales" and out["body"] == "已更换并加严检验。"


async def test_a_step_by_the_wrong_role_is_403_saying_which_role_it_needs(api: Api) -> None:
    ref = await open_case(api.kefu, "刹车片异响")
    error = await api.error("sales", "POST", f"/cases/{ref}/approve", {"department": "quality"}, expect=403)
    assert error == {"code": "forbidden", "message": "Approve needs the role approver."}
    await assign(api, ref, "quality")
    error = await api.error("sales", "POST", f"/cases/{ref}/analysis", {"analysis": "x"}, expect=403)
    assert "department or quality" in error["message"]


async def test_a_step_out_of_order_is_409(api: Api) -> None:
    ref = await open_case(api.kefu, "刹车片异响")
    error = await api.error("qe", "POST", f"/cases/{ref}/verify", {"verification": "ok"}, expect=409)
    assert error["code"] == "illegal_transition"
    assert "state 'new'" in error["message"] and "measures_taken" in error["message"]
    await assign(api, ref, "quality")
    await api.error("gm", "POST", f"/cases/{ref}/approve", {"department": "sales"}, expect=409)


async def test_a_nul_in_a_text_of_the_request_is_400_before_anything_is_stored(api: Api) -> None:
    """PostgreSQL cannot store a NUL in text: without this the step failed with a database error."""
    ref = await open_case(api.kefu, "刹车片异响")
    await assign(api, ref, "quality")
    error = await api.error("qe", "POST", f"/cases/{ref}/analysis", {"analysis": "来料\x00不良"}, expect=400)
    assert error["code"] == "bad_request" and "NUL" in error["message"]
    case = await api.call("gm", "GET", f"/cases/{ref}")
    assert case["state"] == "assigned" and not [h for h in case["history"] if h["action"] == "analysis"]


async def test_approving_to_an_unknown_department_is_422_naming_the_valid_codes(api: Api) -> None:
    ref = await open_case(api.kefu, "刹车片异响")
    error = await api.error("gm", "POST", f"/cases/{ref}/approve", {"department": "qa"}, expect=422)
    assert error["code"] == "invalid_input"
    assert "'qa'" in error["message"] and "quality" in error["message"] and "technical_development" in error["message"]
    error = await api.error(
        "gm", "POST", f"/cases/{ref}/approve", {"department": "quality", "severity": "huge"}, expect=422
    )
    assert "critical" in error["message"]
    assert (await api.call("gm", "GET", f"/cases/{ref}"))["state"] == "new"  # nothing changed


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"{not json", "not valid JSON"),
        (b"", "empty"),
        (b'["quality"]', "must be a JSON object, not an array"),
        (b"{}", "'department' is required"),
        (b'{"department": 3}', "'department' must be a string, not a number"),
        (b'{"department": "quality", "note": false}', "'note' must be a string, not a boolean"),
        (b'{"departmnet": "quality"}', "Unknown field 'departmnet'"),
    ],
)
async def test_a_malformed_body_is_400_naming_the_problem(api: Api, data: bytes, expected: str) -> None:
    ref = await open_case(api.kefu, "刹车片异响")
    error = await api.error("gm", "POST", f"/cases/{ref}/approve", data=data, expect=400)
    assert error["code"] == "bad_request" and expected in error["message"], error


async def test_an_empty_reason_is_refused_by_the_service_with_422(api: Api) -> None:
    ref = await open_case(api.kefu, "发票格式")
    error = await api.error("gm", "POST", f"/cases/{ref}/no-action", {"reason": "  "}, expect=422)
    assert "reason" in error["message"]
    assert await api.step("gm", ref, "no-action", reason="发票格式由税务局规定。") == "no_action"
    assert (await api.call("gm", "GET", f"/cases/{ref}"))["no_action_reason"] == "发票格式由税务局规定。"


async def test_a_step_on_an_unknown_case_is_404(api: Api) -> None:
    error = await api.error("gm", "POST", "/cases/FB-2026-999999/approve", {"department": "quality"}, expect=404)
    assert error["code"] == "not_found"


async def test_a_department_member_sees_and_acts_only_on_their_departments_cases(api: Api) -> None:
    ours = await open_case(api.kefu, "设备异响")
    theirs = await open_case(api.kefu, "图纸咨询")
    unassigned = await open_case(api.kefu, "新投诉")
    await assign(api, ours, "production_equipment")
    await assign(api, theirs, "technical_development")

    listed = await api.call("prod", "GET", "/cases")
    assert listed == {"items": listed["items"], "total": 1, "sort": "-received_at", "next_cursor": None}
    assert [c["reference"] for c in listed["items"]] == [ours]
    assert (await api.call("prod", "GET", f"/cases/{ours}"))["allowed_actions"] == ["analysis"]
    for ref in (theirs, unassigned):  # another department's and a new one: as if they did not exist
        error = await api.error("prod", "GET", f"/cases/{ref}", expect=404)
        assert error["message"].startswith("There is no case")
        await api.error("prod", "POST", f"/cases/{ref}/analysis", {"analysis": "x"}, expect=404)
        await api.error("prod", "POST", f"/cases/{ref}/notes", {"text": "x"}, expect=404)
    assert await api.step("prod", ours, "analysis", analysis="轴承磨损") == "analysed"

    # Reassigned away, the case leaves their view; quality (also a department member) sees all.
    assert await api.step("gm", ours, "reassign", department="technical_development", note="设计问题") == "assigned"
    await api.error("prod", "GET", f"/cases/{ours}", expect=404)
    assert {c["reference"] for c in (await api.call("tech", "GET", "/cases"))["items"]} == {ours, theirs}
    assert (await api.call("qe", "GET", "/cases"))["total"] == 3


async def test_quality_rejecting_the_verification_sends_the_case_back_to_the_department(api: Api) -> None:
    ref = await open_case(api.kefu, "刹车片异响")
    await assign(api, ref, "production_equipment")
    await api.step("prod", ref, "analysis", analysis="扭矩不足")
    await api.step("prod", ref, "measures", measures="修订作业指导书")
    await api.error("prod", "POST", f"/cases/{ref}/verify", {"verification": "ok"}, expect=403)
    assert await api.step("qe", ref, "reject-verification", note="复测仍有异响") == "analysed"
    history = (await api.call("gm", "GET", f"/cases/{ref}"))["history"]
    assert history[-1]["action"] == "reject_verification" and history[-1]["note"] == "复测仍有异响"


async def test_a_note_is_an_internal_message_and_a_history_row(api: Api) -> None:
    ref = await open_case(api.kefu, "刹车片异响")
    assert await api.call("sales", "POST", f"/cases/{ref}/notes", {"text": "客户来电催促"}) == {
        "reference": ref,
        "state": "new",
    }
    case = await api.call("gm", "GET", f"/cases/{ref}")
    note = case["messages"][-1]
    assert note["direction"] == "note" and note["channel"] == "internal" and note["author"] == "sales"
    assert case["history"][-1]["action"] == "note" and case["history"][-1]["note"] == "客户来电催促"
