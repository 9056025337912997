"""The notice templates page: every notification template (notifications/templates), rendered
with one sample case through the dispatcher's own renderer, Chinese and English side by side
(notifications/preview.py). Read-only; for admins and Sales, who answer for what customers
and staff are told. A template that does not render shows its error in its row.
"""

from __future__ import annotations

import asyncio
from itertools import groupby
from typing import Any

from aiohttp import web

from cases.domain.enums import Role
from kefu.console.web import RENDERER, render, session_of
from notifications.preview import LANGUAGES, Preview, preview_all

READERS = frozenset({Role.ADMIN, Role.SALES})


async def templates_page(request: web.Request) -> web.Response:
    if not session_of(request).actor.roles & READERS:
        raise web.HTTPForbidden(text="for admins and sales")
    # jinja2 compiles each file once and caches it; still, off the event loop.
    previews = await asyncio.to_thread(preview_all, request.app[RENDERER])
    rows = []

    def key(p: Preview) -> tuple[str, str, str]:
        return (p.file.audience, p.file.event, p.file.channel or "")

    for (audience, event, channel), group in groupby(previews, key=key):
        by_language: dict[str, Any] = {p.file.language: p for p in group}
        rows.append(
            {
                "audience": audience,
                "event": event,
                "channel": channel or "email",
                "languages": [(lang, by_language.get(lang)) for lang in LANGUAGES],
            }
        )
    broken = sum(1 for p in previews if p.error)
    return render(request, "templates.html", {"rows": rows, "files": len(previews), "broken": broken})
