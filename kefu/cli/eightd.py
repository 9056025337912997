"""`kefu 8d show REFERENCE`, `kefu 8d document REFERENCE`: a case's 8D from the server's
console — where it stands, step by step, and the document the customer gets, for an audit or
a customer who asks for it on paper (docs/quality.md). Steps are recorded and signed by the
people who own them, in the console or the API, not here."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

from cases.queries import eightd_views
from cases.queries.case_views import EVERYTHING
from kefu.bootstrap import Kefu
from kefu.cli.common import with_kefu
from kefu.documents import render


def add_eightd_commands(sub: Any) -> None:
    eightd = sub.add_parser("8d", help="a case's 8D report: where it stands, and the document")
    what = eightd.add_subparsers(dest="eightd_command", required=True)
    show = what.add_parser("show", help="the review team and each step D0-D8: recorded, signed, by whom")
    show.add_argument("reference")
    show.add_argument("--json", action="store_true", help="everything, as the API gives it")
    show.set_defaults(fn=cmd_show)
    doc = what.add_parser("document", help="the 8D as the customer gets it, PDF (or HTML), into a file")
    doc.add_argument("reference")
    doc.add_argument("--language", default="zh", choices=list(render.LANGUAGES))
    doc.add_argument("--format", default="pdf", choices=["pdf", "html"])
    doc.add_argument("--out", type=Path, help="file to write (default: REFERENCE-8D.pdf in this folder)")
    doc.set_defaults(fn=cmd_document)


def cmd_show(args: argparse.Namespace) -> int:
    async def run(kefu: Kefu) -> None:
        async with kefu.db.reader() as s:
            data = await eightd_views.eightd(s, EVERYTHING, args.reference)
        if args.json:
            print(json.dumps(data, ensure_ascii=False, indent=2))
            return
        print(f"{data['reference']}  {data['subject']}")
        print(f"  state {data['state']}, severity {data['severity']}, 8D revision {data['revision']}")
        team = ", ".join(f"{m['name']} ({m['department']}{', leader' if m['leader'] else ''})" for m in data["team"])
        print(f"  review team: {team or '-'}")
        if data["returned_step"]:
            print(f"  returned by the customer at {data['returned_step']}: {data['customer_comment']}")
        for step in data["steps"]:
            print("  " + _step_line(step, data["next_step"]))

    asyncio.run(with_kefu(run))
    return 0


def _step_line(step: dict[str, Any], next_step: str | None) -> str:
    title = f"{step['step']}  {step['title_en']} ({step['title_zh']})"
    current = step["current"]
    if current is None:
        status = "next: to record" if step["step"] == next_step else "-"
    elif current["signed_at"]:
        status = f"signed by {current['signed_by']} ({current['signed_role']}) {current['signed_at'][:16]}"
    else:
        status = f"recorded by {current['edited_by']} {current['edited_at'][:16]}, not signed"
        if step["step"] == next_step:
            status += " (next: to sign)"
    versions = f", version {current['version']}" if current and current["version"] > 1 else ""
    return f"{title:<48} {status}{versions}"


def cmd_document(args: argparse.Namespace) -> int:
    async def run(kefu: Kefu) -> None:
        async with kefu.db.reader() as s:
            data = await eightd_views.eightd(s, EVERYTHING, args.reference)
        html = render.eightd_html(data, render.Header.of(kefu.settings), args.language)
        path = args.out or Path(f"{data['reference']}-8D.{args.format}")
        if args.format == "html":
            path.write_text(html, encoding="utf-8")
        else:
            path.write_bytes(await asyncio.to_thread(render.pdf, html))
        print(path)

    asyncio.run(with_kefu(run))
    return 0
