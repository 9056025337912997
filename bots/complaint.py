"""The guided "new complaint" conversation as a table of steps, over a conversation row kept in
our database (it survives a restart). The engine here is pure: it changes the row and says
what to answer; customer.py runs it inside a unit of work and sends the answer after commit.
"""

from __future__ import annotations

import itertools
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message

from bots import media
from bots.texts import t
from cases.domain.enums import Language
from cases.store.models import TelegramConversation

COMPLAINT = "complaint"
CONFIRM = "confirm"
DONE = "done"


@dataclass(frozen=True, slots=True)
class Step:
    name: str  # key in the conversation data
    ask: str  # text key of the question
    kind: str  # "text" (required), "number", "optional" (Skip button), "files" (Done / Skip)


STEPS: tuple[Step, ...] = (
    Step("what", "ask_what", "text"),
    Step("part_number", "ask_part_number", "text"),
    Step("batch", "ask_batch", "text"),
    Step("quantity", "ask_quantity", "number"),
    Step("vehicle", "ask_vehicle", "optional"),
    Step("files", "ask_files", "files"),
)
_BY_NAME = {s.name: s for s in STEPS}
_NEXT = {a.name: b.name for a, b in itertools.pairwise(STEPS)} | {STEPS[-1].name: CONFIRM}


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    markup: InlineKeyboardMarkup | None = None


def _buttons(conv: TelegramConversation, *names: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(t(n, conv.language), callback_data=f"cv:{conv.id}:{n}") for n in names]]
    )


def begin(chat_id: int, language: Language, now: datetime) -> TelegramConversation:
    return TelegramConversation(
        chat_id=chat_id,
        kind=COMPLAINT,
        step=STEPS[0].name,
        language=language,
        data={"files": [], "albums": []},
        created_at=now,
        updated_at=now,
    )


def prompt(conv: TelegramConversation) -> Reply:
    if conv.step == CONFIRM:
        return Reply(summary(conv), _buttons(conv, "confirm", "cancel"))
    step = _BY_NAME[conv.step]
    markup = {"optional": _buttons(conv, "skip"), "files": _buttons(conv, "done", "skip")}.get(step.kind)
    return Reply(t(step.ask, conv.language), markup)


def _advance(conv: TelegramConversation, now: datetime) -> Reply:
    conv.step = _NEXT[conv.step]
    conv.updated_at = now
    return prompt(conv)


def _set(conv: TelegramConversation, key: str, value: Any) -> None:
    conv.data = {**conv.data, key: value}  # a new dict: the JSON column sees the change


def on_message(conv: TelegramConversation, msg: Message, limit: int, now: datetime) -> list[Reply]:
    """A message while the conversation waits for an answer."""
    step = _BY_NAME.get(conv.step)
    lang = conv.language
    if step is None:  # waiting for the confirm button: show the summary again
        return [prompt(conv)]
    if step.kind == "files":
        return _on_files(conv, msg, limit, now)
    text = (msg.text or msg.caption or "").strip()
    if not text:
        return [Reply(t("empty_answer", lang)), prompt(conv)]
    if step.kind == "number":
        digits = unicodedata.normalize("NFKC", text).strip()
        if not digits.isdigit() or int(digits) <= 0:
            return [Reply(t("bad_quantity", lang))]
        _set(conv, step.name, int(digits))
    else:
        _set(conv, step.name, text[:4000])
    return [_advance(conv, now)]


def _on_files(conv: TelegramConversation, msg: Message, limit: int, now: datetime) -> list[Reply]:
    lang = conv.language
    refs = media.files_of(msg)
    if not refs:
        text = (msg.text or "").strip().lower()
        if text in {"完成", "done", "好了", "ok"}:
            return [_advance(conv, now)]
        return [prompt(conv)]
    known = {f["unique"] for f in conv.data.get("files", [])}
    files = list(conv.data.get("files", [])) + [r for r in refs if r["unique"] not in known]
    _set(conv, "files", files)
    if msg.caption:
        _set(conv, "what", f"{conv.data.get('what', '')}\n{msg.caption}".strip())
    conv.updated_at = now
    replies = [Reply(t("file_too_big", lang, name=r["name"])) for r in refs if media.too_big(r, limit)]
    album = msg.media_group_id
    if album and album in conv.data.get("albums", []):
        return replies  # one acknowledgement per album, not one per photo
    if album:
        _set(conv, "albums", [*conv.data.get("albums", []), album])
    return [*replies, Reply(t("file_received", lang, count=len(files)), _buttons(conv, "done"))]


def on_button(conv: TelegramConversation, action: str, now: datetime) -> Reply | None:
    """skip / done move on; cancel ends; confirm is handled by the caller (it opens the case)."""
    step = _BY_NAME.get(conv.step)
    if action == "cancel":
        conv.finished_at = now
        conv.step = DONE
        return Reply(t("cancelled", conv.language))
    if step is not None and (
        (action == "skip" and step.kind in ("optional", "files")) or (action == "done" and step.kind == "files")
    ):
        return _advance(conv, now)
    return prompt(conv)


def summary(conv: TelegramConversation) -> str:
    d = conv.data
    dash = "—"
    return t(
        "summary",
        conv.language,
        what=d.get("what", dash),
        part_number=d.get("part_number", dash),
        batch=d.get("batch", dash),
        quantity=d.get("quantity", dash),
        vehicle=d.get("vehicle") or dash,
        files=len(d.get("files", [])),
    )


def case_text(conv: TelegramConversation, limit: int) -> tuple[str, str]:
    """Subject and text of the new case; labelled lines first, so that the case's first guesses
    (cases/domain/classify.py) read part number, batch, quantity and vehicle from them."""
    d = conv.data
    en = conv.language == Language.EN
    labels = ("Part number", "Batch", "Quantity", "Vehicle/VIN") if en else ("零件号", "批次", "数量", "车型/VIN")
    sep = ": " if en else "："
    lines = [
        f"{labels[0]}{sep}{d.get('part_number', '')}",
        f"{labels[1]}{sep}{d.get('batch', '')}",
        f"{labels[2]}{sep}{d.get('quantity', '')}",
    ]
    if d.get("vehicle"):
        lines.append(f"{labels[3]}{sep}{d['vehicle']}")
    what = str(d.get("what", ""))
    text = "\n".join(lines) + "\n\n" + what + media.too_big_note(list(d.get("files", [])), limit, conv.language)
    return what.splitlines()[0][:80] if what else "", text
