"""The `(UIDVALIDITY, last UID)` cursor of each IMAP folder, kept in the database.

The cursor moves only after a message is committed to the inbox and flagged or moved on the
server, so a crash anywhere leaves it behind, never ahead: the worst case is reading a mail
again, which the inbox's dedupe key turns into nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from cases.domain.clock import Clock
from cases.store.db import Database
from cases.store.models import ImapCursor
from cases.store.upsert import insert_ignore


@dataclass(frozen=True, slots=True)
class Cursor:
    uidvalidity: int
    last_uid: int

    def under(self, uidvalidity: int) -> Cursor:
        """The cursor to read from under the folder's current UIDVALIDITY: a new one means
        the folder was rebuilt and its UIDs say nothing about ours (RFC 3501 2.3.1.1)."""
        return self if self.uidvalidity == uidvalidity else Cursor(uidvalidity, 0)


class CursorStore:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def load(self, mailbox: str) -> Cursor | None:
        async with self.db.reader() as s:
            row = (
                await s.execute(
                    select(ImapCursor.uidvalidity, ImapCursor.last_uid).where(ImapCursor.mailbox == mailbox)
                )
            ).first()
        return Cursor(row[0], row[1]) if row else None

    async def save(self, mailbox: str, cursor: Cursor) -> None:
        """Upsert; the UID only moves forward under one UIDVALIDITY (two instances reading the
        same folder must not move each other's cursor back)."""
        now = self.clock()
        values = dict(mailbox=mailbox, uidvalidity=cursor.uidvalidity, last_uid=cursor.last_uid, updated_at=now)
        async with self.db.unit_of_work() as s:
            row = (
                await s.execute(select(ImapCursor).where(ImapCursor.mailbox == mailbox).with_for_update())
            ).scalar_one_or_none()
            if row is None:
                await insert_ignore(s, ImapCursor, values, ["mailbox"])
                return
            if row.uidvalidity == cursor.uidvalidity and row.last_uid >= cursor.last_uid:
                return
            row.uidvalidity, row.last_uid, row.updated_at = cursor.uidvalidity, cursor.last_uid, now
