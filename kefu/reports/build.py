"""A report from the data to its documents, drafted or issued: the one path the CLI and the API
share. Charts and the PDF cost CPU (a second or two): `issue` renders in a thread, and so
should any caller of `documents` on the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

from cases.domain.actors import Actor
from cases.domain.errors import Conflict
from cases.reports import issued
from cases.reports.issued import Documents
from cases.reports.kinds import ReportKind, compute
from cases.reports.period import Period
from cases.store.db import Database
from kefu.documents.render import Header
from kefu.reports.render import render_html, render_pdf

Progress = Callable[[str], None]


def documents(
    data: dict[str, Any],
    language: str,
    header: Header,
    *,
    pdf: bool = True,
    progress: Progress | None = None,
    **signature: Any,
) -> Documents:
    say = progress or (lambda _: None)
    say("drawing the charts and the page")
    html = render_html(data, language, header, **signature)
    say("writing the workbook")
    from kefu.reports.workbook import render_xlsx  # openpyxl: imported when a report is written

    xlsx = render_xlsx(data, language, signature.get("record_number", ""))
    if pdf:
        say("printing the PDF")
    return Documents(html=html, xlsx=xlsx, pdf=render_pdf(html) if pdf else None)


async def draft(
    db: Database, kind: ReportKind, period: Period, now: datetime, progress: Progress | None = None
) -> dict[str, Any]:
    if progress:
        progress(f"counting {kind.value} {period.key}")
    async with db.reader() as s:
        return await compute(s, kind, period, now)


async def issue(
    db: Database,
    actor: Actor,
    kind: ReportKind,
    period: Period,
    language: str,
    header: Header,
    approved_by: str,
    now: datetime,
    progress: Progress | None = None,
) -> tuple[dict[str, Any], Documents]:
    """Count, number, render and store a new revision; returns its summary and documents.

    Rendered outside the transaction (charts and the PDF take seconds, and SQLite's write lock
    is the whole database's); the number is taken again when storing, and a revision issued by
    someone else meanwhile is a conflict to retry, never an overwrite."""
    issued.check_issuer(actor)
    data = await draft(db, kind, period, now, progress)
    async with db.reader() as s:
        revision, number = await issued.next_record_number(s, kind, period)
    docs = await asyncio.to_thread(
        documents,
        data,
        language,
        header,
        progress=progress,
        record_number=number,
        revision=revision,
        issued_by=actor.label,
        approved_by=approved_by,
        issued_at=now.date().isoformat(),
    )
    async with db.unit_of_work() as s:
        if (await issued.next_record_number(s, kind, period))[0] != revision:
            raise Conflict(
                f"{number} was issued by someone else just now; issue again for the next revision",
                zh=f"{number} 刚刚已由他人签发；请重新签发以生成下一修订版",
            )
        row = await issued.issue(s, actor, kind, period, revision, number, data, docs, approved_by, language, now)
        return issued.summary(row), docs
