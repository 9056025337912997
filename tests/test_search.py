"""Full-text search over cases, Chinese and English, on SQLite (FTS5) and PostgreSQL (tsvector):
two-character Chinese words inside longer runs, words only in a reply or in a fax's OCR text,
the index kept by the writer and rebuilt by `kefu search reindex`; and the case list's keyset
paging."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from sqlalchemy import text

from cases.domain.enums import Channel, Language
from cases.domain.intake_message import Attachment, IntakeMessage, ThreadHints
from cases.search.index import rebuild
from cases.search.tokens import Term, fts5_query, index_terms, query_terms, ts_query
from cases.services.documents import DocumentTexts, ReadResult
from cases.settings import Settings
from kefu.bootstrap import Kefu
from tests.apihelpers import Api, api_fixture, assign, open_case  # noqa: F401  (the `api` fixture)


# -- tokens (pure) ----------------------------------------------------------------------------
def test_chinese_is_indexed_as_overlapping_bigrams_and_latin_as_lowercased_words() -> None:
    terms = index_terms("刹车片异响 Brake NOISE 零件号：3501-00123 ＡＢＣ１２３")
    assert {"刹车", "车片", "片异", "异响", "brake", "noise", "3501", "00123", "abc123"} <= terms
    assert "刹车片" not in terms and "Brake" not in terms


def test_a_query_is_cut_the_same_way_and_a_single_character_or_latin_word_is_a_prefix() -> None:
    assert query_terms("异响") == [Term("异响")]
    assert query_terms("刹车片") == [Term("刹车"), Term("车片")]
    assert query_terms("油") == [Term("油", prefix=True)]
    assert query_terms("Brake") == [Term("brake", prefix=True)]
    assert query_terms("!!! %") == []
    assert fts5_query(query_terms("漏油 brake")) == '"漏油" AND "brake"*'
    assert ts_query(query_terms("漏油 brake")) == "'漏油' & 'brake':*"


# -- search through the API ---------------------------------------------------------------------
async def _found(api: Api, q: str, who: str = "gm") -> list[str]:
    page = await api.call(who, "GET", "/cases?" + urlencode({"q": q}))
    return sorted(c["reference"] for c in page["items"])


async def test_two_character_chinese_words_are_found_inside_longer_runs(api: Api) -> None:
    noise = await open_case(api.kefu, "刹车片异响", "装车后行驶中有声音。")
    leak = await open_case(api.kefu, "质量问题反馈", "减震器总成漏油，批次B2026-1107。")
    await open_case(api.kefu, "发票问题", "请重新开具发票。")
    assert await _found(api, "异响") == [noise]  # the subject
    assert await _found(api, "漏油") == [leak]  # only in the body
    assert await _found(api, "减震器 漏油") == [leak]  # two words, apart in the text
    assert await _found(api, "总成漏油") == [leak]  # every bigram of a run: 总成 成漏 漏油
    assert await _found(api, "油") == [leak]  # one character: the end of a run
    assert await _found(api, "异响 漏油") == []  # every word must be found
    assert await _found(api, "b2026") == [leak]


async def test_english_words_are_found_case_insensitively_and_as_prefixes(api: Api) -> None:
    brake = await open_case(api.kefu, "Brake pads squeal", "The BRAKES make a noise after 200 km.")
    await open_case(api.kefu, "Invoice", "Please send the invoice again.")
    assert await _found(api, "brake") == [brake]
    assert await _found(api, "NOISE squeal") == [brake]
    assert await _found(api, "nois") == [brake]
    assert await _found(api, "clutch") == []


async def test_a_word_only_in_the_customers_reply_or_a_staff_note_finds_the_case(api: Api) -> None:
    ref = await open_case(api.kefu, "刹车片异响")
    assert await _found(api, "抖动") == [] and await _found(api, "tightened") == []
    reply = IntakeMessage(
        channel=Channel.EMAIL,
        source_id=uuid.uuid4().hex,
        sender_identity="zhang.wei@dfmc-parts.cn",
        sender_name="张伟",
        subject=f"Re: [{ref}] 刹车片异响",
        text="另外方向盘抖动。",
        new_text="另外方向盘抖动。",
        received_at=api.kefu.clock(),
        language=Language.ZH,
        hints=ThreadHints(subject_reference=ref),
    )
    async with api.kefu.db.unit_of_work() as s:
        assert (await api.kefu.service.receive(s, reply)).reference == ref
    assert await _found(api, "抖动") == [ref]
    await api.call("gm", "POST", f"/cases/{ref}/notes", {"text": "Bolts tightened on site."})
    assert await _found(api, "tightened") == [ref]


async def test_a_word_only_in_the_ocr_text_of_a_fax_finds_the_case(api: Api) -> None:
    fax = IntakeMessage(
        channel=Channel.FAX,
        source_id=uuid.uuid4().hex,
        sender_identity="+862784561234",
        sender_name="传真 Fax",
        subject="Fax from +86 27 8456 1234",
        text="1 page",
        new_text="1 page",
        received_at=api.kefu.clock(),
        language=Language.ZH,
        attachments=(Attachment("page1.tif", "image/tiff", b"II*fax"),),
    )
    async with api.kefu.db.unit_of_work() as s:
        ref = (await api.kefu.service.receive(s, fax)).reference
    assert await _found(api, "渗油") == []
    ocr = DocumentTexts(
        api.kefu.db, api.kefu.clock, lambda data, ctype, name: ReadResult("read", "tesseract", "变速箱壳体渗油 gasket")
    )
    assert await ocr.run_once() == 1
    assert await _found(api, "渗油") == [ref]
    assert await _found(api, "Gasket") == [ref]


async def test_search_keeps_to_the_readers_department(api: Api) -> None:
    ref = await open_case(api.kefu, "刹车片异响")
    assert await _found(api, "异响", who="prod") == []  # not yet production's
    await assign(api, ref, "production_equipment")
    assert await _found(api, "异响", who="prod") == [ref]
    assert await _found(api, "异响", who="tech") == []


async def test_reindex_rebuilds_an_emptied_index(kefu: Kefu) -> None:
    ref = await open_case(kefu, "变速箱异响")
    async with kefu.db.unit_of_work() as s:
        await s.execute(text("DELETE FROM case_search"))
        conn = await s.connection()
        ids = [r[0] for r in (await s.execute(text("SELECT id FROM cases"))).all()]
        assert await conn.run_sync(lambda c: rebuild(c, ids)) == 1
    from cases.queries.case_views import EVERYTHING, CaseFilter, list_cases

    async with kefu.db.reader() as s:
        page = await list_cases(s, EVERYTHING, CaseFilter(q="异响"))
    assert [c["reference"] for c in page["items"]] == [ref]


# -- keyset paging ------------------------------------------------------------------------------
async def test_keyset_pages_walk_every_case_once_in_each_sort_order(api: Api) -> None:
    start = datetime(2026, 3, 1, 4, 0, tzinfo=UTC)
    # Two cases share a received time: the id breaks the tie, and neither is lost.
    refs = [await open_case(api.kefu, f"问题 {i}", received_at=start + timedelta(hours=i // 2)) for i in range(7)]
    for sort, expected in (("-received_at", refs[::-1]), ("received_at", refs)):
        seen: list[str] = []
        cursor = None
        while True:
            query = {"limit": "3", "sort": sort, **({"cursor": cursor} if cursor else {})}
            page = await api.call("gm", "GET", "/cases?" + urlencode(query))
            assert page["total"] == (7 if cursor is None else page["total"]) and page["sort"] == sort
            seen += [c["reference"] for c in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == expected, sort
    first = await api.call("gm", "GET", "/cases?limit=7")
    assert first["next_cursor"] is None  # nothing after the last page


async def test_a_bad_cursor_is_refused_with_a_clear_error(api: Api) -> None:
    for i in range(3):
        await open_case(api.kefu, f"问题 {i}")
    cursor = (await api.call("gm", "GET", "/cases?limit=1"))["next_cursor"]
    # Not even the shape of a cursor: a malformed request.
    error = await api.error("gm", "GET", "/cases?cursor=not%20a%20cursor!", expect=400)
    assert error["code"] == "bad_request" and "'cursor'" in error["message"] and "next_cursor" in error["message"]
    # The shape, but not one this list gave out, or given for another sort: a value refused.
    error = await api.error("gm", "GET", "/cases?cursor=bm90LWEtY3Vyc29y", expect=422)
    assert error["code"] == "invalid_cursor" and "'cursor'" in error["message"] and "next_cursor" in error["message"]
    error = await api.error("gm", "GET", f"/cases?sort=updated_at&cursor={cursor}", expect=422)
    assert "sort=-received_at" in error["message"]
    error = await api.error("gm", "GET", f"/cases?offset=1&cursor={cursor}", expect=422)
    assert "offset" in error["message"]
    error = await api.error("gm", "GET", "/cases?sort=subject", expect=400)
    assert "'sort'" in error["message"]


async def test_kefu_search_reindex_says_how_far_it_is_and_search_finds_again(kefu: Kefu, settings: Settings) -> None:
    refs = [await open_case(kefu, f"密封圈漏油 {i}") for i in range(5)]
    async with kefu.db.unit_of_work() as s:
        await s.execute(text("DELETE FROM case_search"))
    await kefu.db.dispose()
    env = {
        **os.environ,
        "KEFU_DATA_DIR": str(settings.data_dir),
        "KEFU_DATABASE_URL": settings.sqlalchemy_url,
        "KEFU_SECRET_KEY": "search-test",
        "KEFU_MAIL_DOMAINS": "kefu.example",
        "KEFU_LOG_LEVEL": "WARNING",
    }
    done = subprocess.run(
        [sys.executable, "-m", "kefu", "search", "reindex", "--batch", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "kefu: search reindex: 0% (0 of 5 cases)" in done.stdout
    assert "kefu: search reindex: 100% (5 of 5 cases)" in done.stdout
    assert "kefu: search index rebuilt: 5 cases" in done.stdout
    listed = subprocess.run(
        [sys.executable, "-m", "kefu", "case", "list", "--search", "漏油", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert sorted(c["reference"] for c in json.loads(listed.stdout)["items"]) == sorted(refs)
