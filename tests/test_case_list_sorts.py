"""The case list's sorts by reference, customer deadline, severity (by grade) and state (by the
workflow), both ways, next to received and updated: paging through thirty cases seven at a time,
by the API's cursor and by the console's offset, gives exactly the fully sorted order (cases
without a deadline last, either way); the keys come from their `(key, id)` index."""

from __future__ import annotations

import html
import io
import random
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from openpyxl import load_workbook
from sqlalchemy import event, select, text, update

from cases.domain.enums import CaseState, Severity
from cases.domain.ranks import GRADE_ORDER, STATE_ORDER, rank_sql
from cases.queries import keyset
from cases.queries.case_views import EVERYTHING, CaseFilter, list_cases
from cases.store.models import Case
from kefu.bootstrap import Kefu
from kefu.console import case_pages
from kefu.console import export as export_module
from tests.apihelpers import Api, api_fixture, open_case  # noqa: F401  (the `api` fixture)
from tests.consolehelpers import Console, console_fixture  # noqa: F401  (the `console` fixture)

N = 30
PAGE = 7


async def _thirty_cases(kefu: Kefu) -> list[dict[str, Any]]:
    """Thirty cases with ties in every key, a third without a deadline, references out of the
    id order; returned as the database holds them."""
    rng = random.Random(15)
    start = datetime(2026, 3, 1, 4, 0, tzinfo=UTC)
    refs = [await open_case(kefu, f"问题 {i}", received_at=start + timedelta(hours=i // 3)) for i in range(N)]
    shuffled = list(range(N))
    rng.shuffle(shuffled)
    async with kefu.db.unit_of_work() as s:
        for i, ref in enumerate(refs):
            deadline = None if i % 3 == 0 else start + timedelta(days=rng.randrange(4))  # ties and NULLs
            await s.execute(
                update(Case)
                .where(Case.reference == ref)
                .values(
                    reference=f"{ref[:3]}X{shuffled[i]:03d}",
                    customer_deadline=deadline,
                    severity=rng.choice(list(Severity)),
                    state=rng.choice(list(CaseState)),
                    updated_at=start + timedelta(minutes=rng.randrange(5)),
                )
            )
    async with kefu.db.reader() as s:
        rows = (
            await s.execute(
                select(
                    Case.id,
                    Case.reference,
                    Case.received_at,
                    Case.updated_at,
                    Case.customer_deadline,
                    Case.severity,
                    Case.state,
                    Case.severity_rank,
                    Case.state_rank,
                )
            )
        ).all()
    return [r._asdict() for r in rows]


def _expected(cases: list[dict[str, Any]], sort: keyset.Sort) -> list[str]:
    """The order computed in Python, independently of the SQL."""
    rank: dict[str, Callable[[Any], Any]] = {
        "severity_rank": lambda c: GRADE_ORDER.index(c["severity"]),
        "state_rank": lambda c: STATE_ORDER.index(c["state"]),
    }
    key = rank.get(sort.column.key, lambda c: c[sort.column.key])
    keyed = sorted((c for c in cases if key(c) is not None), key=lambda c: (key(c), c["id"]), reverse=sort.descending)
    unkeyed = sorted((c for c in cases if key(c) is None), key=lambda c: c["id"], reverse=sort.descending)
    return [c["reference"] for c in keyed + unkeyed]


async def test_every_sort_pages_through_the_cases_in_exactly_the_sorted_order(api: Api) -> None:
    cases = await _thirty_cases(api.kefu)
    assert sum(c["customer_deadline"] is None for c in cases) == N // 3
    # The database computes the ranks from the values, whoever wrote them (here an UPDATE).
    assert all(c["severity_rank"] == GRADE_ORDER.index(c["severity"]) + 1 for c in cases)
    assert all(c["state_rank"] == STATE_ORDER.index(c["state"]) + 1 for c in cases)
    assert set(keyset.SORTS) >= {"reference", "-customer_deadline", "severity", "-state"}
    for name, sort in keyset.SORTS.items():
        expected = _expected(cases, sort)
        # the API: by cursor, across the NULL boundary of the deadline
        seen: list[str] = []
        cursor = None
        while True:
            query = {"limit": str(PAGE), "sort": name, **({"cursor": cursor} if cursor else {})}
            page = await api.call("gm", "GET", "/cases?" + urlencode(query))
            assert page["sort"] == name and len(page["items"]) <= PAGE
            seen += [c["reference"] for c in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == expected, name
        # the console's pages: by offset, as ?page=n
        by_offset: list[str] = []
        async with api.kefu.db.reader() as s:
            for offset in range(0, N + PAGE, PAGE):
                page = await list_cases(s, EVERYTHING, CaseFilter(sort=name, limit=PAGE, offset=offset))
                by_offset += [c["reference"] for c in page["items"]]
        assert by_offset == expected, name
    # "-severity" puts the critical cases first; the deadline's NULLs are last both ways
    first = (await api.call("gm", "GET", "/cases?sort=-severity&limit=1"))["items"][0]
    assert first["severity"] == "critical"
    for name in ("customer_deadline", "-customer_deadline"):
        items = (await api.call("gm", "GET", f"/cases?sort={name}&limit=100"))["items"]
        assert [c["customer_deadline"] is None for c in items] == [False] * 20 + [True] * 10


async def test_a_cursor_keeps_its_key_kind_and_a_forged_one_is_refused(api: Api) -> None:
    for i in range(3):
        await open_case(api.kefu, f"问题 {i}")
    page = await api.call("gm", "GET", "/cases?sort=-state&limit=1")
    assert page["next_cursor"]
    # a rank where a time belongs, a time where a rank belongs: not a cursor of this list
    forged = [keyset.Cursor("received_at", 3, 1), keyset.Cursor("state", "2026-01-01T00:00:00+00:00", 1)]
    for cursor in forged:
        error = await api.error("gm", "GET", f"/cases?sort={cursor.sort}&cursor={cursor.encode()}", expect=422)
        assert error["code"] == "invalid_cursor"
    # a NULL key only where the sort has NULLs
    null_key = keyset.Cursor("reference", None, 1).encode()
    await api.error("gm", "GET", f"/cases?sort=reference&cursor={null_key}", expect=422)
    null_deadline = keyset.Cursor("customer_deadline", None, 1).encode()
    await api.call("gm", "GET", f"/cases?sort=customer_deadline&cursor={null_deadline}")


def test_the_rank_columns_say_what_the_migration_wrote() -> None:
    import importlib.util
    from pathlib import Path

    import cases.store.migrations.versions as versions

    path = Path(versions.__path__[0]) / "0024_case_list_sorts.py"
    spec = importlib.util.spec_from_file_location("m0024", path)
    assert spec and spec.loader
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    assert rank_sql("severity", GRADE_ORDER) == migration.SEVERITY_RANK
    assert rank_sql("state", STATE_ORDER) == migration.STATE_RANK
    assert set(STATE_ORDER) == set(CaseState) and set(GRADE_ORDER) == set(Severity)


async def test_the_reference_and_deadline_sorts_read_their_index(api: Api) -> None:
    """EXPLAIN of the statements list_cases runs, as it runs them: each walks its index."""
    kefu = api.kefu
    cases = await _thirty_cases(kefu)
    statements: list[tuple[str, Any]] = []

    def catch(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if "ORDER BY" in statement and "LIMIT" in statement:
            statements.append((statement, parameters))

    postgres = kefu.db.dialect == "postgresql"
    wanted = {
        "reference": "ix_cases_reference_id",
        "-reference": "ix_cases_reference_id",
        "customer_deadline": "ix_cases_customer_deadline_id",
        "-customer_deadline": "ix_cases_customer_deadline_id",
        "severity": "ix_cases_severity_rank_id",
        "-state": "ix_cases_state_rank_id",
    }
    middle = next(c for c in cases if c["customer_deadline"] is not None)
    unkeyed = next(c for c in cases if c["customer_deadline"] is None)
    explained_unkeyed = False
    for name, index in wanted.items():
        sort = keyset.SORTS[name]
        key = {"severity_rank": 2, "state_rank": 3}.get(sort.column.key, middle.get(sort.column.key))
        cursors = [keyset.Cursor(name, key, middle["id"])]
        if sort.nullable:  # and one inside the run of cases without a deadline
            cursors.append(keyset.Cursor(name, None, unkeyed["id"]))
        event.listen(kefu.db.engine.sync_engine, "before_cursor_execute", catch)
        try:
            async with kefu.db.reader() as s:
                for cursor in cursors:
                    await list_cases(s, EVERYTHING, CaseFilter(sort=name, limit=PAGE, cursor=cursor.encode()))
        finally:
            event.remove(kefu.db.engine.sync_engine, "before_cursor_execute", catch)
        assert statements, name
        async with kefu.db.reader() as s:
            conn = await s.connection()
            raw = await conn.get_raw_connection()
            for statement, parameters in statements:
                if postgres:
                    # thirty rows are cheaper to sort than to look up: ask whether the index CAN
                    # give the order (no sort) once scanning the table is priced out
                    await conn.execute(text("SET LOCAL enable_seqscan = off"))
                    await conn.execute(text("SET LOCAL enable_sort = off"))
                    plan = await _explain_pg(raw, statement, parameters)
                else:
                    plan = await _explain_sqlite(raw, statement, parameters)
                uses = [index]
                if "customer_deadline IS NULL" in statement:  # the cases without a deadline, by id
                    explained_unkeyed = True
                    # PostgreSQL reads the partial index; SQLite either that or the (NULL, id) entries
                    uses = ["ix_cases_id_no_deadline"] if postgres else ["ix_cases_id_no_deadline", index]
                assert any(u in plan for u in uses), (name, plan)
                assert "TEMP B-TREE" not in plan and not re.search(r"\bSort\b", plan), (name, plan)
        statements.clear()
    assert explained_unkeyed


async def _explain_sqlite(raw: Any, statement: str, parameters: Any) -> str:
    cursor = await raw.driver_connection.execute("EXPLAIN QUERY PLAN " + statement, parameters)
    return "\n".join(str(row[-1]) for row in await cursor.fetchall())


async def _explain_pg(raw: Any, statement: str, parameters: Any) -> str:
    # asyncpg's DBAPI adapter turned the statement into $n placeholders already
    rows = await raw.driver_connection.fetch("EXPLAIN " + statement, *parameters)
    return "\n".join(r[0] for r in rows)


# -- the console: headings that sort, the sort kept by the pages and the export ----------------
def _link(page: str, element_id: str) -> str:
    found = re.search(rf'<a href="([^"]+)"[^>]*id="{element_id}"', page) or re.search(
        rf'id="{element_id}"[^>]*href="([^"]+)"', page
    )
    assert found, element_id
    return html.unescape(found.group(1))


def _listed(page: str) -> list[str]:
    return re.findall(r'<span class="ref">([^<]+)</span>', page)


async def test_a_heading_sorts_the_console_list_and_the_pages_and_the_export_keep_it(
    console: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(case_pages, "PAGE_SIZE", PAGE)
    cases = await _thirty_cases(console.kefu)
    b = await console.browser("gm")
    page = await b.get("/cases?channel=email")
    # a click on "deadline": soonest first, the filter kept, back on page 1
    href = _link(page, "sort-deadline")
    assert href.startswith("/cases?") and "channel=email" in href and "sort=deadline" in href
    assert "order=asc" in href and "page=" not in href
    for sort_name, heading_clicks in (("customer_deadline", 1), ("-customer_deadline", 2), ("-severity", 1)):
        key = "deadline" if "deadline" in sort_name else "severity"
        page = await b.get("/cases?channel=email")
        for _ in range(heading_clicks):  # the second click turns the order round
            page = await b.get(_link(page, f"sort-{key}"))
        assert 'aria-current="true"' in page
        seen = _listed(page)
        while following := re.findall(r'<a href="([^"]+)">下一页</a>', page):  # "next page"
            href = html.unescape(following[0])
            assert f"sort={key}" in href and "channel=email" in href
            page = await b.get(href)
            seen += _listed(page)
        expected = _expected(cases, keyset.SORTS[sort_name])
        assert seen == expected, sort_name
        # the export link of the same page: the same order, every page of it
        export = _link(page, "export-link")
        resp = await b.client.get(export)
        assert resp.status == 200
        book = load_workbook(io.BytesIO(await resp.read()))
        rows = list(book.active.iter_rows(values_only=True))  # type: ignore[union-attr]
        assert [r[0] for r in rows[export_module.HEADING_ROW :]] == expected, sort_name
    # the page in English says so in English
    await b.post("/account/language", {"language": "en"})
    page = await b.get("/cases?sort=state&order=asc")
    assert "Descending" in page and ">State ▲<" in page
