"""A database full of cases: 100,000 by default, seeded, written in bulk, for the benches that
measure reading at scale (bench/case_list.py; the staff console's bench uses it too).

    python -m bench.many_cases --cases 100000 --database-url sqlite+aiosqlite:///var/bench.sqlite3

The cases look like what intake makes of the bench corpus (bench/corpus_text.py): Chinese and
English complaints from a few hundred contacts of about sixty customers, over three years, in
every state of the procedure (departments for the approved ones), each with the customer's
mail as its first message, a fifth with a customer's reply, the opening in the history, and
the search index row the writer would have made. Rows go in with one multi-row statement a
table and a few thousand cases a transaction (about 15 s for 100,000 on SQLite here); the
reference counters are left where intake continues the series.

The schema must be at head (upgraded) and hold no cases yet; departments are seeded here.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, insert, select, text

from bench.corpus_text import Person, complaint, follow_up, make_facts, make_people
from cases.domain.enums import CaseState, CaseType, Channel, Direction, Language, Severity, Speaker
from cases.search.index import write_terms
from cases.search.tokens import index_terms
from cases.store.db import Database, make_engine
from cases.store.models import (
    Case,
    CaseHistory,
    CaseMessage,
    Contact,
    Customer,
    Department,
    Identity,
    ReferenceCounter,
)

SEED = 20261205
BATCH = 2000  # cases a transaction
END = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)  # the newest generated case; live mail comes after
SPAN = timedelta(days=3 * 365)
# How cases are spread over the states (closed work dominates a real register).
STATE_SHARES: tuple[tuple[CaseState, int], ...] = (
    (CaseState.CLOSED, 55),
    (CaseState.NO_ACTION, 7),
    (CaseState.NEW, 8),
    (CaseState.ASSIGNED, 10),
    (CaseState.ANALYSED, 7),
    (CaseState.MEASURES_TAKEN, 5),
    (CaseState.VERIFIED, 3),
    (CaseState.AWAITING_SATISFACTION, 5),
)
TYPE_SHARES: tuple[tuple[CaseType, int], ...] = (
    (CaseType.QUALITY_COMPLAINT, 60),
    (CaseType.WARRANTY_CLAIM, 25),
    (CaseType.ONSITE_SERVICE, 5),
    (CaseType.TECHNICAL_CONSULTATION, 5),
    (CaseType.DOCUMENT_REQUEST, 3),
    (CaseType.SUGGESTION, 2),
)
REPLY_SHARE = 0.2
PEOPLE = 600
DOMAINS = 60


@dataclass(frozen=True, slots=True)
class Generated:
    cases: int
    messages: int
    seconds: float


def _weighted(rng: random.Random, shares: tuple[tuple[Any, int], ...]) -> Any:
    return rng.choices([v for v, _ in shares], weights=[w for _, w in shares])[0]


async def generate(
    db: Database, count: int, *, seed: int = SEED, progress: Callable[[int, int], None] | None = None
) -> Generated:
    started = time.monotonic()
    from cases.services.users import seed_departments

    await seed_departments(db)
    async with db.reader() as s:
        if (await s.execute(select(func.count()).select_from(Case))).scalar_one():
            raise SystemExit("bench.many_cases: the database holds cases already; give it an empty one")
        departments = list((await s.execute(select(Department.id).order_by(Department.id))).scalars())
    rng = random.Random(seed)
    people = make_people(rng, PEOPLE, DOMAINS)
    async with db.unit_of_work() as s:
        contacts = await (await s.connection()).run_sync(_archive, people)
    # Received times, oldest first, so that ids and times rise together as they do in intake.
    offsets = sorted(rng.random() for _ in range(count))
    received = [END - SPAN * (1 - o) for o in offsets]
    counters: dict[int, int] = {}
    message_id = history_id = 0
    done = 0
    for start in range(0, count, BATCH):
        batch = range(start, min(start + BATCH, count))
        cases, messages, history, terms = [], [], [], {}
        for i in batch:
            case_id = i + 1
            who, contact_id, customer_id = contacts[rng.randrange(len(contacts))]
            facts = make_facts(rng, who.lang)
            subject, body = complaint(rng, who, facts)
            at = received[i]
            year = at.year
            counters[year] = counters.get(year, 0) + 1
            state = _weighted(rng, STATE_SHARES)
            department = None if state is CaseState.NEW else rng.choice(departments)
            if state is CaseState.NO_ACTION and rng.random() < 0.5:
                department = None
            updated = min(at + timedelta(hours=rng.randint(0, 24 * 40)), END)
            lang = Language.EN if who.lang == "en" else Language.ZH
            cases.append(
                {
                    "id": case_id,
                    "reference": f"FB-{year}-{counters[year]:06d}",
                    "type": _weighted(rng, TYPE_SHARES),
                    "channel": Channel.EMAIL,
                    "state": state,
                    "customer_id": customer_id,
                    "contact_id": contact_id,
                    "subject": subject[:500],
                    "description": body,
                    "part_number": facts.part_no,
                    "batch": facts.batch,
                    "quantity": facts.bad,
                    "vehicle": facts.vehicle,
                    "severity": rng.choice(list(Severity)),
                    # two cases in five with a customer's deadline, for the list's deadline sort
                    # (from the id, not the generator: the other columns stay as they were)
                    "customer_deadline": at + timedelta(days=7 + case_id % 23) if case_id % 5 < 2 else None,
                    "reply_channel": Channel.EMAIL,
                    "language": lang,
                    "department_id": department,
                    "received_at": at,
                    "created_at": at,
                    "updated_at": updated,
                    "closed_at": updated if state is CaseState.CLOSED else None,
                    "reopen_count": 0,
                    "version": 1,
                }
            )
            texts = [cases[-1]["reference"], subject, body, facts.part_no, facts.batch, facts.vehicle]
            message_id += 1
            messages.append(_message(message_id, case_id, who, subject, body, at))
            if rng.random() < REPLY_SHARE:
                reply = follow_up(rng, who)
                message_id += 1
                messages.append(_message(message_id, case_id, who, f"Re: {subject}"[:500], reply, updated))
                texts += [f"Re: {subject}", reply]
            history_id += 1
            history.append(
                {
                    "id": history_id,
                    "case_id": case_id,
                    "at": at,
                    "actor": f"customer:{who.address}",
                    "action": "opened",
                    "from_state": None,
                    "to_state": CaseState.NEW,
                    "changes": {},
                    "note": "",
                }
            )
            terms[case_id] = index_terms("\n".join(texts))
        async with db.unit_of_work() as s:
            conn = await s.connection()
            await conn.run_sync(_write, cases, messages, history, terms)
        done += len(batch)
        if progress is not None:
            progress(done, count)
    async with db.unit_of_work() as s:
        await (await s.connection()).run_sync(_finish, counters)
    return Generated(count, message_id, time.monotonic() - started)


def _message(message_id: int, case_id: int, who: Person, subject: str, body: str, at: datetime) -> dict[str, Any]:
    return {
        "id": message_id,
        "case_id": case_id,
        "direction": Direction.IN,
        "channel": Channel.EMAIL.value,
        "message_id": f"bench-{message_id}@{who.address.partition('@')[2]}",
        "sender": who.address,
        "subject": subject,
        "body": body,
        "new_text": body,
        "is_automatic": False,
        "speaker": Speaker.CUSTOMER,
        "created_at": at,
    }


def _archive(conn: Connection, people: list[Person]) -> list[tuple[Person, int, int]]:
    """A customer per company, a contact and an email identity per person."""
    now = END - SPAN
    companies = sorted({p.company for p in people})
    customer_ids = {}
    for name in companies:
        customer_ids[name] = conn.execute(
            insert(Customer)
            .values(name=name, is_unassigned=False, language=Language.ZH, created_at=now)
            .returning(Customer.id)
        ).scalar_one()
    out = []
    for p in people:
        lang = Language.EN if p.lang == "en" else Language.ZH
        contact_id = conn.execute(
            insert(Contact)
            .values(
                customer_id=customer_ids[p.company],
                name=p.name,
                language=lang,
                preferred_channel=Channel.EMAIL,
                created_at=now,
            )
            .returning(Contact.id)
        ).scalar_one()
        conn.execute(
            insert(Identity).values(contact_id=contact_id, kind=Channel.EMAIL, value=p.address, created_at=now)
        )
        out.append((p, contact_id, customer_ids[p.company]))
    return out


def _write(
    conn: Connection,
    cases: list[dict[str, Any]],
    messages: list[dict[str, Any]],
    history: list[dict[str, Any]],
    terms: dict[int, set[str]],
) -> None:
    conn.execute(insert(Case), cases)
    conn.execute(insert(CaseMessage), messages)
    conn.execute(insert(CaseHistory), history)
    write_terms(conn, terms)


def _finish(conn: Connection, counters: dict[int, int]) -> None:
    """Reference counters where intake continues; PostgreSQL's id sequences past the ids given."""
    for year, last in counters.items():
        conn.execute(insert(ReferenceCounter).values(prefix="FB", year=year, last_value=last))
    if conn.dialect.name == "postgresql":
        for table in ("cases", "case_messages", "case_history"):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
        conn.execute(text("ANALYZE"))
    else:
        conn.execute(text("ANALYZE"))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=SEED)
    p.add_argument("--database-url", required=True, help="an upgraded database without cases")
    args = p.parse_args()

    def told(done: int, total: int) -> None:
        if done == total or done % (BATCH * 10) == 0:
            print(f"bench.many_cases: {done} of {total} cases", flush=True)

    async def run() -> Generated:
        from cases.store.migrate import upgrade_async

        await upgrade_async(args.database_url)
        db = Database(make_engine(args.database_url))
        try:
            return await generate(db, args.cases, seed=args.seed, progress=told)
        finally:
            await db.dispose()

    g = asyncio.run(run())
    print(f"bench.many_cases: {g.cases} cases, {g.messages} messages in {g.seconds:.1f} s")


if __name__ == "__main__":
    main()
