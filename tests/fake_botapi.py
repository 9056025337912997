"""A small local HTTP server that speaks the Bot API, for the bot's tests (no test reaches
Telegram). It answers getMe, getUpdates (offset, long-poll timeout), sendMessage,
editMessageText, answerCallbackQuery, getFile and the file download, setWebhook and
deleteWebhook; on demand it answers 429 with retry_after, or 403 "blocked by the user".
Every call is recorded with the time it arrived."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.conftest import free_port

TOKEN = "123456:TEST-token"
BOT_USER = {"id": 123456, "is_bot": True, "first_name": "客服", "username": "kefu_test_bot"}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float
    status: int = 200


@dataclass
class FakeBotApi:
    port: int = field(default_factory=free_port)
    calls: list[Call] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    pushed: list[int] = field(default_factory=list)  # every update_id ever offered, repeats too
    files: dict[str, bytes] = field(default_factory=dict)  # file_id -> bytes
    blocked: set[int] = field(default_factory=set)  # chats whose user blocked the bot
    # method -> retry_after seconds for the next calls, one entry used per call
    flood: dict[str, list[int]] = field(default_factory=dict)
    _next_message_id: int = 1000
    _new_update: asyncio.Event = field(default_factory=asyncio.Event)
    _runner: web.AppRunner | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # -- what tests do -----------------------------------------------------------------------
    def push(self, *updates: dict[str, Any]) -> None:
        self.updates.extend(updates)
        self.pushed.extend(u["update_id"] for u in updates)
        self._new_update.set()

    def sent(self, chat_id: int | None = None, method: str = "sendMessage") -> list[Call]:
        return [
            c
            for c in self.calls
            if c.method == method
            and c.status == 200
            and (chat_id is None or int(c.params.get("chat_id", 0)) == chat_id)
        ]

    def texts(self, chat_id: int) -> list[str]:
        return [c.params["text"] for c in self.sent(chat_id)]

    async def wait_for(self, check: Callable[[], Any], timeout: float = 30.0, what: str = "") -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = check()
            if result:
                return result
            await asyncio.sleep(0.05)
        raise AssertionError(
            f"timed out waiting for {what or check}; calls: "
            f"{[(c.method, c.params.get('text', '')[:40]) for c in self.calls[-8:]]}"
        )

    async def wait_text(self, chat_id: int, part: str, count: int = 1, timeout: float = 30.0) -> list[str]:
        texts: list[str] = await self.wait_for(
            lambda: found if len(found := [t for t in self.texts(chat_id) if part in t]) >= count else None,
            timeout,
            f"{count}x {part!r} in chat {chat_id}",
        )
        return texts

    # -- the protocol ------------------------------------------------------------------------
    async def _method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != TOKEN:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        form = await request.post() if request.can_read_body else {}
        params = {k: _value(v) for k, v in form.items()}
        call = Call(method, params, time.monotonic())
        self.calls.append(call)
        if self.flood.get(method):
            retry = self.flood[method].pop(0)
            call.status = 429
            return web.json_response(
                {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {retry}",
                    "parameters": {"retry_after": retry},
                },
                status=429,
            )
        if method in ("sendMessage", "editMessageText") and int(params.get("chat_id", 0)) in self.blocked:
            call.status = 403
            return web.json_response(
                {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}, status=403
            )
        handler = getattr(self, f"_{method}", None)
        if handler is None:
            call.status = 404
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        return web.json_response({"ok": True, "result": await handler(params)})

    async def _getMe(self, p: dict[str, Any]) -> Any:
        return BOT_USER

    async def _getUpdates(self, p: dict[str, Any]) -> Any:
        offset = int(p.get("offset", 0) or 0)
        if offset:  # confirms every update below the offset (the Bot API forgets them)
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        if not self.updates:
            self._new_update.clear()
            try:
                await asyncio.wait_for(self._new_update.wait(), float(p.get("timeout", 0) or 0))
            except TimeoutError:
                pass
        return [u for u in self.updates if u["update_id"] >= offset]

    def _message(self, p: dict[str, Any], message_id: int | None = None) -> dict[str, Any]:
        if message_id is None:
            self._next_message_id += 1
            message_id = self._next_message_id
        msg = {
            "message_id": message_id,
            "date": int(time.time()),
            "from": BOT_USER,
            "chat": {"id": int(p["chat_id"]), "type": "private"},
            "text": p.get("text", ""),
        }
        if isinstance(p.get("reply_markup"), dict) and "inline_keyboard" in p["reply_markup"]:
            msg["reply_markup"] = p["reply_markup"]
        return msg

    async def _sendMessage(self, p: dict[str, Any]) -> Any:
        msg = self._message(p)
        p["message_id"] = msg["message_id"]
        return msg

    async def _editMessageText(self, p: dict[str, Any]) -> Any:
        return self._message(p, int(p["message_id"]))

    async def _answerCallbackQuery(self, p: dict[str, Any]) -> Any:
        return True

    async def _setWebhook(self, p: dict[str, Any]) -> Any:
        return True

    async def _deleteWebhook(self, p: dict[str, Any]) -> Any:
        return True

    async def _getFile(self, p: dict[str, Any]) -> Any:
        file_id = p["file_id"]
        return {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "file_size": len(self.files[file_id]),
            "file_path": f"documents/{file_id}.bin",
        }

    async def _file(self, request: web.Request) -> web.Response:
        file_id = request.match_info["path"].split("/")[-1].removesuffix(".bin")
        self.calls.append(Call("download", {"file_id": file_id}, time.monotonic()))
        return web.Response(body=self.files[file_id], content_type="application/octet-stream")


def _value(raw: Any) -> Any:
    """PTB sends form fields; objects (reply_markup, allowed_updates) as JSON text."""
    if isinstance(raw, str) and raw[:1] in "[{":
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw
