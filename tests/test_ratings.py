"""Satisfaction in full through the API (issue 13, item 13): a rating given by phone or on site
is a step Sales records with the same rules as an answer by mail, its channel kept; every
rating stays in the case's rating history across reopens; allowed_actions names the routes."""

from __future__ import annotations

import asyncio
import uuid

from alembic import command
from sqlalchemy import select, text

from cases.domain.enums import Channel, Language
from cases.domain.intake_message import IntakeMessage, ThreadHints
from cases.queries.ratings import average_score
from cases.store.db import make_engine
from cases.store.migrate import alembic_config, upgrade
from cases.store.models import Case, CaseRating
from kefu.web.api.cases import STEPS
from tests.apihelpers import Api, api_fixture, assign, open_case  # noqa: F401  (the `api` fixture)


async def _awaiting(api: Api) -> str:
    ref = await open_case(api.kefu, "转向器漏油", "三台车漏油。")
    await assign(api, ref, "quality")
    assert await api.step("qe", ref, "analysis", analysis="密封圈批次不良") == "analysed"
    assert await api.step("qe", ref, "measures", measures="更换密封圈供应商") == "measures_taken"
    assert await api.step("qe", ref, "verify", verification="复测合格") == "verified"
    assert await api.step("sales", ref, "reply", message="问题已解决，请确认。") == "awaiting_satisfaction"
    return ref


async def _ratings(api: Api, ref: str) -> list[tuple[str, int | None, str, str]]:
    async with api.kefu.db.reader() as s:
        rows = await s.execute(
            select(CaseRating.rating, CaseRating.score, CaseRating.channel, CaseRating.source)
            .join(Case, Case.id == CaseRating.case_id)
            .where(Case.reference == ref)
            .order_by(CaseRating.id)
        )
        return [(r, score, channel, source) for r, score, channel, source in rows.all()]


async def test_sales_record_a_rating_given_by_phone_and_it_closes_the_case(api: Api) -> None:
    ref = await _awaiting(api)
    assert (await api.call("sales", "GET", f"/cases/{ref}"))["allowed_actions"] == ["rating"]

    state = await api.step("sales", ref, "rating", rating="非常满意", channel="phone", note="电话回访，客户很满意")

    assert state == "closed"
    case = await api.call("sales", "GET", f"/cases/{ref}")
    assert (case["rating"], case["rating_score"]) == ("satisfied", 5)
    assert case["ratings"] == [
        {
            "rating": "satisfied",
            "score": 5,
            "channel": "phone",
            "source": "staff",
            "recorded_by": "sales",
            "matched": "非常满意",
            "note": "电话回访，客户很满意",
            "at": case["closed_at"],
        }
    ]
    last = case["history"][-1]
    assert (last["action"], last["actor"], last["to_state"]) == ("record_rating", "sales", "closed")
    assert "phone" in last["note"]


async def test_an_unsatisfied_rating_on_site_reopens_and_both_ratings_are_kept(api: Api) -> None:
    ref = await _awaiting(api)
    assert await api.step("sales", ref, "rating", rating="2", channel="visit") == "assigned"
    case = await api.call("sales", "GET", f"/cases/{ref}")
    assert case["rating"] is None and case["reopen_count"] == 1
    assert case["history"][-1]["action"] == "record_unsatisfied"

    assert await api.step("qe", ref, "analysis", analysis="二次分析") == "analysed"
    assert await api.step("qe", ref, "measures", measures="更换整批") == "measures_taken"
    assert await api.step("qe", ref, "verify", verification="复测合格") == "verified"
    assert await api.step("sales", ref, "reply", message="已更换整批。") == "awaiting_satisfaction"
    assert await api.step("sales", ref, "rating", rating="★★★★", channel="phone") == "closed"

    assert await _ratings(api, ref) == [
        ("unsatisfied", 2, "visit", "staff"),
        ("satisfied", 4, "phone", "staff"),
    ]
    case = await api.call("sales", "GET", f"/cases/{ref}")
    assert [(r["rating"], r["score"]) for r in case["ratings"]] == [("unsatisfied", 2), ("satisfied", 4)]
    async with api.kefu.db.reader() as s:
        assert await average_score(s) == 3.0  # reports count the 不满意 before the reopen too


async def test_a_rating_kefu_cannot_read_or_an_unknown_channel_is_refused_with_422(api: Api) -> None:
    ref = await _awaiting(api)
    error = await api.error(
        "sales", "POST", f"/cases/{ref}/rating", {"rating": "满意 1分", "channel": "phone"}, expect=422
    )
    assert "is not a rating kefu can read" in error["message"]
    error = await api.error(
        "sales", "POST", f"/cases/{ref}/rating", {"rating": "满意", "channel": "pigeon"}, expect=422
    )
    assert "Unknown channel" in error["message"] and "phone" in error["message"]
    assert (await api.call("sales", "GET", f"/cases/{ref}"))["state"] == "awaiting_satisfaction"


async def test_only_sales_record_a_rating_and_only_while_one_is_asked_for(api: Api) -> None:
    ref = await _awaiting(api)
    error = await api.error("qe", "POST", f"/cases/{ref}/rating", {"rating": "满意", "channel": "phone"}, expect=403)
    assert "sales" in error["message"]
    await api.step("sales", ref, "rating", rating="满意", channel="phone")
    await api.error("sales", "POST", f"/cases/{ref}/rating", {"rating": "满意", "channel": "phone"}, expect=409)


async def test_allowed_actions_are_the_names_of_the_routes_that_take_them(api: Api) -> None:
    ref = await open_case(api.kefu, "刹车片异响")
    assert (await api.call("gm", "GET", f"/cases/{ref}"))["allowed_actions"] == ["approve", "no-action"]
    routes = {step.segment for step in STEPS}
    doc = await api.call(None, "GET", "/openapi.json")
    named = doc["components"]["schemas"]["CaseDetail"]["allOf"][1]["properties"]["allowed_actions"]["items"]["enum"]
    assert set(named) <= routes and {"approve", "no-action", "rating", "reject-verification"} <= set(named)
    # and each is taken by posting to it
    assert await api.step("gm", ref, "no-action", reason="非本公司产品") == "no_action"


async def test_the_migration_backfills_the_ratings_cases_held_and_the_unsatisfied_ones_they_forgot(
    api: Api,
) -> None:
    """Down to 0014 (no rating history), then up again: the history is rebuilt from the cases
    and their own history."""
    ref = await _awaiting(api)
    await _answer(api, ref, "1分，还是漏油")  # reopens; the case forgets the rating
    assert await api.step("qe", ref, "analysis", analysis="二次分析") == "analysed"
    assert await api.step("qe", ref, "measures", measures="更换整批") == "measures_taken"
    assert await api.step("qe", ref, "verify", verification="复测合格") == "verified"
    assert await api.step("sales", ref, "reply", message="已更换整批。") == "awaiting_satisfaction"
    await _answer(api, ref, "非常满意")
    url = api.kefu.settings.sqlalchemy_url
    await api.kefu.db.dispose()

    await asyncio.to_thread(command.downgrade, alembic_config(url), "0014")
    await asyncio.to_thread(upgrade, url, "0016")

    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(text("SELECT rating, score, channel, source FROM case_ratings ORDER BY at, id"))
            ).all()
    finally:
        await engine.dispose()
    assert [tuple(r) for r in rows] == [("unsatisfied", 1, "email", "backfill"), ("satisfied", 5, "email", "backfill")]


async def _answer(api: Api, ref: str, text_: str) -> None:
    msg = IntakeMessage(
        channel=Channel.EMAIL,
        source_id=uuid.uuid4().hex,
        sender_identity="zhang.wei@dfmc-parts.cn",
        sender_name="张伟",
        subject=f"Re: [{ref}]",
        text=text_,
        new_text=text_,
        received_at=api.kefu.clock(),
        language=Language.ZH,
        message_id=f"{uuid.uuid4().hex}@dfmc-parts.cn",
        hints=ThreadHints(subject_reference=ref),
    )
    async with api.kefu.db.unit_of_work() as s:
        await api.kefu.service.receive(s, msg)
