"""The floor under the processor's writing: the rows a batch of new cases writes (contact,
identity, case, message, attachments and their bytes, history, outbox event), on kefu's own
migrated SQLite schema, with the sqlite3 driver alone: no SQLAlchemy, no case service, no
threading lookups, one transaction per 100 mails. The case classification and the attachment
hashes are kept (they are per-mail work any writer does).

Not a way kefu writes: a yardstick for how much of `python -m bench.processor`'s CPU per mail
in kefu's process is the database's own work and how much the layers above it.

    python -m bench.write_floor [--messages 2000] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sqlite3
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.corpus import generate_corpus
from cases.domain import classify
from cases.domain.intake_message import IntakeMessage
from cases.store.migrate import upgrade_async
from intake.prepare import RawRow, prepare_many

BATCH = 100


def _ts(value: datetime) -> str:
    """As SQLAlchemy stores a UTC datetime on SQLite."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _write(conn: sqlite3.Connection, number: int, m: IntakeMessage, at: str) -> None:
    g = classify.guess(m.subject, m.text)
    contact = conn.execute(
        "INSERT INTO contacts (customer_id, name, language, preferred_channel, created_at) VALUES (1, ?, ?, ?, ?)",
        (m.sender_name[:200], m.language.value, "email", at),
    ).lastrowid
    conn.execute(
        "INSERT INTO identities (contact_id, kind, value, active, created_at) VALUES (?, ?, ?, 1, ?)",
        (contact, "email", f"{number}.{m.sender_identity}", at),
    )
    case = conn.execute(
        "INSERT INTO cases (reference, type, channel, state, customer_id, contact_id, subject, description,"
        " part_number, batch, quantity, vehicle, severity, reply_channel, language, received_at, created_at,"
        " updated_at, reopen_count, version) VALUES (?, ?, 'email', 'new', 1, ?, ?, ?, ?, ?, ?, ?, ?, 'email', ?,"
        " ?, ?, ?, 0, 1)",
        (
            f"FB-2026-{number:06d}",
            g.type.value,
            contact,
            m.subject[:500],
            m.text,
            g.part_number,
            g.batch,
            g.quantity,
            g.vehicle,
            g.severity.value,
            m.language.value,
            _ts(m.received_at),
            at,
            at,
        ),
    ).lastrowid
    message = conn.execute(
        "INSERT INTO case_messages (case_id, direction, channel, message_id, sender, subject, body, new_text,"
        " html, is_automatic, created_at) VALUES (?, 'in', 'email', ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            case,
            m.message_id,
            m.sender_identity,
            m.subject[:500],
            m.text,
            m.new_text,
            m.html,
            int(m.is_automatic),
            _ts(m.received_at),
        ),
    ).lastrowid
    for a in m.attachments:
        digest = hashlib.sha256(a.data).hexdigest()
        conn.execute(
            "INSERT INTO blobs (sha256, size, data) VALUES (?, ?, ?) ON CONFLICT (sha256) DO NOTHING",
            (digest, len(a.data), a.data),
        )
        conn.execute(
            "INSERT INTO attachments (message_id, filename, content_type, size, sha256) VALUES (?, ?, ?, ?, ?)",
            (message, a.filename, a.content_type, len(a.data), digest),
        )
    conn.execute(
        "INSERT INTO case_history (case_id, at, actor, action, to_state, changes, note)"
        " VALUES (?, ?, ?, 'opened', 'new', '{}', '')",
        (case, at, f"customer {m.sender_identity}"),
    )
    conn.execute(
        "INSERT INTO outbox_events (kind, case_id, payload, created_at) VALUES ('case_opened', ?, ?, ?)",
        (case, json.dumps({"auto_reply": m.auto_reply_allowed}), at),
    )


def measure(messages: list[IntakeMessage]) -> tuple[float, float]:
    """(CPU ms a mail, mails/s) for writing `messages` as new cases into a fresh database."""
    with tempfile.TemporaryDirectory(prefix="kefu-bench-floor-") as tmp:
        path = Path(tmp) / "floor.sqlite3"
        asyncio.run(upgrade_async(f"sqlite+aiosqlite:///{path}"))
        conn = sqlite3.connect(path, isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON"):
            conn.execute(f"PRAGMA {pragma}")  # as kefu's connections (cases/store/db.py)
        conn.execute(
            "INSERT INTO customers (name, code, is_unassigned, language, created_at)"
            " VALUES ('unassigned', 'UNASSIGNED', 1, 'zh', ?)",
            (_ts(datetime.now(UTC)),),
        )
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for start in range(0, len(messages), BATCH):
            conn.execute("BEGIN")
            at = _ts(datetime.now(UTC))
            for number, m in enumerate(messages[start : start + BATCH], start + 1):
                _write(conn, number, m, at)
            conn.execute("COMMIT")
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        conn.close()
    return cpu * 1e3 / len(messages), len(messages) / wall


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--messages", type=int, default=2000)
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args()
    print(
        f"kefu write floor: {args.messages} generated mails parsed, then written as new cases with sqlite3 alone ...",
        flush=True,
    )
    now = datetime.now(UTC)
    rows = [RawRow(i, m.data, m.sender, m.recipients, now) for i, m in enumerate(generate_corpus(args.messages), 1)]
    messages = [p.message for p in prepare_many(rows, "FB") if p.message is not None]
    for _ in range(args.runs):
        ms, rate = measure(messages)
        print(f"  {len(messages)} mails: {ms:.3f} ms CPU a mail, {rate:.0f} mails/s", flush=True)


if __name__ == "__main__":
    main()
