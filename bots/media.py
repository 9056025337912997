"""Photos and documents of a chat message: which file to take, and fetching it.

A photo arrives in several sizes: only the largest is kept. A file above the Bot API's
download limit is not fetched; its file_id is kept and the customer is asked for email.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Bot, Message

from cases.domain.intake_message import Attachment
from intake.mailparse import safe_filename

log = logging.getLogger(__name__)

FileRef = dict[str, Any]  # file_id, unique, name, type, size: JSON in the conversation row


def files_of(msg: Message) -> list[FileRef]:
    refs: list[FileRef] = []
    if msg.photo:
        best = max(msg.photo, key=lambda p: (p.file_size or 0, p.width * p.height))
        refs.append(
            {
                "file_id": best.file_id,
                "unique": best.file_unique_id,
                "type": "image/jpeg",
                "name": f"photo-{best.file_unique_id}.jpg",
                "size": best.file_size or 0,
            }
        )
    if msg.document:
        doc = msg.document
        ctype = doc.mime_type or "application/octet-stream"
        refs.append(
            {
                "file_id": doc.file_id,
                "unique": doc.file_unique_id,
                "type": ctype,
                "name": safe_filename(doc.file_name or "", ctype, 1),
                "size": doc.file_size or 0,
            }
        )
    return refs


def too_big(ref: FileRef, limit: int) -> bool:
    return int(ref.get("size") or 0) > limit


async def download(bot: Bot, refs: list[FileRef], limit: int) -> tuple[Attachment, ...]:
    """Fetch the files that fit (getFile, then the file URL); raises on a network failure so
    that the update is tried again."""
    out = []
    for ref in refs:
        if too_big(ref, limit):
            continue
        file = await bot.get_file(ref["file_id"])
        data = bytes(await file.download_as_bytearray())
        out.append(Attachment(filename=ref["name"], content_type=ref["type"], data=data))
    return tuple(out)


def too_big_note(refs: list[FileRef], limit: int, language: str) -> str:
    names = [f"{r['name']} (file_id {r['file_id']})" for r in refs if too_big(r, limit)]
    if not names:
        return ""
    head = (
        "Files too large for the bot, to be sent by email:"
        if language == "en"
        else "文件过大，机器人无法下载，请客户通过邮件发送："
    )
    return "\n\n" + head + "\n" + "\n".join(names)
