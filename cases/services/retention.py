"""Record control (procedure section 8): retention per record class, legal hold, and the purge
that removes personal data after retention while the part and failure facts stay countable.

A purge is explicit and audited: `plan` says what it would do (the dry run), `purge` does it
in batches, each a unit of work, writes a `records_purged` row into each case's history and
one `purges` row for the run. The history's own names and addresses are redacted through the
one UPDATE its triggers allow (redacted_at set once, the facts of the row unchanged).
docs/records.md says what each class holds."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import CursorResult, delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cases.domain.actors import Actor
from cases.domain.enums import CaseState, Role
from cases.domain.errors import Forbidden, InvalidInput, NotFound
from cases.domain.retention import DEFAULT_RETENTION_DAYS, FACT_FIELDS, PURGED, RecordKind
from cases.search import index as search_index
from cases.services.records import locked_case, record_history
from cases.store.db import Database
from cases.store.models import (
    Attachment,
    Blob,
    Case,
    CaseHistory,
    CaseMessage,
    Contact,
    Customer,
    Delivery,
    DocumentText,
    Identity,
    InboundMessage,
    InboundRaw,
    OutboxEvent,
    Purge,
    QualityFile,
    RecordClass,
)

log = logging.getLogger(__name__)

TERMINAL = (CaseState.CLOSED, CaseState.NO_ACTION)
MAX_RETENTION_DAYS = 100 * 366  # a century: longer is a typo, not a policy
BATCH = 100  # cases a unit of work: a purge of years of cases does not hold the write lock long
Progress = Callable[[int, int], None]  # (cases done, cases in all)


@dataclass(frozen=True, slots=True)
class PurgePlan:
    retention_days: dict[str, int]
    cases: list[str]  # references whose retention has passed
    held: list[str]  # would be due, but under legal hold: kept
    raw_mail: int  # raw inbound mail of no case, past its retention
    outgoing_files: list[Path] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PurgeResult:
    counts: dict[str, int]
    cases: list[str]


def _require_admin(actor: Actor) -> None:
    if not (actor.has(Role.ADMIN) or actor.has(Role.SYSTEM)):
        raise Forbidden(
            "only an admin may change retention, legal holds or purge records",
            zh="只有管理员可以修改保存期限、法律保留或清除记录",
        )


async def retention_days(s: AsyncSession) -> dict[str, int]:
    stored = {name: days for name, days in await s.execute(select(RecordClass.name, RecordClass.retention_days))}
    return {kind.value: int(stored.get(kind.value, DEFAULT_RETENTION_DAYS[kind])) for kind in RecordKind}


def _days(value: int) -> int:
    if not 1 <= value <= MAX_RETENTION_DAYS:
        raise InvalidInput(
            f"retention must be between 1 and {MAX_RETENTION_DAYS} days, not {value}",
            zh=f"保存期限须在 1 至 {MAX_RETENTION_DAYS} 天之间，而不是 {value}",
        )
    return value


async def set_retention(s: AsyncSession, actor: Actor, kind: str, days: int, now: datetime) -> None:
    _require_admin(actor)
    if kind not in {k.value for k in RecordKind}:
        raise InvalidInput(
            f"no record class {kind!r}; the classes are {', '.join(k.value for k in RecordKind)}",
            zh=f"没有记录类别 {kind!r}；可用类别：{', '.join(k.value for k in RecordKind)}",
        )
    row = await s.get(RecordClass, kind)
    if row is None:
        s.add(RecordClass(name=kind, retention_days=_days(days), updated_by=actor.label, updated_at=now))
    else:
        row.retention_days, row.updated_by, row.updated_at = _days(days), actor.label, now
    log.info("retention of %s set to %d days by %s", kind, days, actor.label)


async def set_customer_retention(s: AsyncSession, actor: Actor, customer_id: int, days: int | None) -> None:
    """Keep this customer's cases longer than the class says (a customer or IATF requirement)."""
    _require_admin(actor)
    customer = await s.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"no customer {customer_id}", zh=f"客户 {customer_id} 不存在")
    customer.retention_days = None if days is None else _days(days)


async def set_legal_hold(s: AsyncSession, actor: Actor, reference: str, reason: str | None, now: datetime) -> Case:
    """Put a case under legal hold (a reason given) or lift it (None). In the case's history."""
    _require_admin(actor)
    case = await locked_case(s, reference)
    if reason is not None and not reason.strip():
        raise InvalidInput("a legal hold needs a reason", zh="法律保留须注明原因")
    hold = reason is not None
    if case.purged_at is not None and hold:
        raise InvalidInput(
            f"{case.reference} was purged on {case.purged_at:%Y-%m-%d}; there is nothing left to hold",
            zh=f"{case.reference} 已于 {case.purged_at:%Y-%m-%d} 清除；没有可保留的内容",
        )
    before = case.legal_hold
    case.legal_hold, case.legal_hold_reason, case.updated_at = hold, (reason or "").strip() or None, now
    record_history(
        s,
        case=case,
        at=now,
        actor=actor,
        action="legal_hold" if hold else "legal_hold_lifted",
        changes={"legal_hold": [before, hold]},
        note=(reason or "").strip(),
    )
    return case


async def _due_cases(s: AsyncSession, now: datetime, class_days: int) -> list[tuple[int, str, bool]]:
    """(id, reference, legal hold) of closed cases past retention, not yet purged, oldest first."""
    cutoff = now - timedelta(days=class_days)
    candidates = (
        await s.execute(
            select(Case.id, Case.reference, Case.legal_hold, Case.closed_at, Customer.retention_days)
            .join(Customer, Customer.id == Case.customer_id)
            .where(Case.state.in_(TERMINAL), Case.purged_at.is_(None), Case.closed_at < cutoff)
            .order_by(Case.closed_at, Case.id)
        )
    ).all()
    due = []
    for case_id, reference, held, closed_at, customer_days in candidates:
        days = max(class_days, customer_days or 0)
        if closed_at is not None and closed_at < now - timedelta(days=days):
            due.append((case_id, reference, held))
    return due


def _unlinked_raw(now: datetime, days: int) -> Any:
    return select(InboundMessage.id).where(
        InboundMessage.case_id.is_(None),
        InboundMessage.received_at < now - timedelta(days=days),
        exists().where(InboundRaw.inbound_id == InboundMessage.id),
    )


def outgoing_due(folder: Path, now: datetime, days: int) -> list[Path]:
    """`*.eml` files whose name's time (FolderTransport: 20261205T101500.123456Z-…) is past retention."""
    if not folder.is_dir():
        return []
    cutoff = now - timedelta(days=days)
    due = []
    for path in sorted(folder.glob("*.eml")):
        try:
            written = datetime.strptime(path.name.split("-", 1)[0], "%Y%m%dT%H%M%S.%fZ").replace(tzinfo=UTC)
        except ValueError:
            written = datetime.fromtimestamp(path.stat().st_mtime, UTC)  # a file put there by hand
        if written < cutoff:
            due.append(path)
    return due


async def plan(s: AsyncSession, now: datetime, outgoing_folder: Path | None) -> PurgePlan:
    """What a purge at `now` would remove: the dry run."""
    days = await retention_days(s)
    due = await _due_cases(s, now, days[RecordKind.CASE])
    raw = await s.execute(select(func.count()).select_from(_unlinked_raw(now, days[RecordKind.RAW_MAIL]).subquery()))
    files = outgoing_due(outgoing_folder, now, days[RecordKind.OUTGOING_MAIL]) if outgoing_folder else []
    return PurgePlan(
        retention_days=days,
        cases=[ref for _, ref, held in due if not held],
        held=[ref for _, ref, held in due if held],
        raw_mail=int(raw.scalar_one()),
        outgoing_files=files,
    )


async def _changed(s: AsyncSession, statement: Any) -> int:
    """Rows an UPDATE or DELETE touched."""
    result = cast(CursorResult[Any], await s.execute(statement))
    return max(result.rowcount or 0, 0)


def _redacted_changes(changes: dict[str, Any]) -> dict[str, Any]:
    def value(key: str, v: Any) -> Any:
        if key in FACT_FIELDS or v is None or isinstance(v, bool | int | float):
            return v
        if isinstance(v, list):
            return [value(key, item) for item in v]
        return PURGED

    return {key: value(key, v) for key, v in changes.items()}


async def _purge_cases(s: AsyncSession, actor: Actor, case_ids: Sequence[int], now: datetime) -> dict[str, int]:
    counts: dict[str, int] = {}

    def count(what: str, n: int) -> None:
        counts[what] = counts.get(what, 0) + n

    messages = select(CaseMessage.id).where(CaseMessage.case_id.in_(case_ids))
    attachments = select(Attachment.id).where(Attachment.message_id.in_(messages))
    hashes = set((await s.execute(select(Attachment.sha256).where(Attachment.id.in_(attachments)))).scalars())
    hashes |= set((await s.execute(select(QualityFile.sha256).where(QualityFile.case_id.in_(case_ids)))).scalars())
    count("document_texts", await _changed(s, delete(DocumentText).where(DocumentText.case_id.in_(case_ids))))
    count("attachments", await _changed(s, delete(Attachment).where(Attachment.id.in_(attachments))))
    count("quality_files", await _changed(s, delete(QualityFile).where(QualityFile.case_id.in_(case_ids))))
    if hashes:  # a blob another (kept) case or file still uses stays
        still_used = or_(
            exists().where(Attachment.sha256 == Blob.sha256), exists().where(QualityFile.sha256 == Blob.sha256)
        )
        count("blobs", await _changed(s, delete(Blob).where(Blob.sha256.in_(hashes), ~still_used)))
    purged_text = dict(sender="", subject=PURGED, body=PURGED, new_text=PURGED, html=None)
    count(
        "messages", await _changed(s, update(CaseMessage).where(CaseMessage.case_id.in_(case_ids)).values(purged_text))
    )
    for case_id in case_ids:  # the search index holds the same words: rebuilt at commit
        search_index.touch(s, case_id)
    inbound = select(InboundMessage.id).where(InboundMessage.case_id.in_(case_ids))
    count("raw_mail", await _changed(s, delete(InboundRaw).where(InboundRaw.inbound_id.in_(inbound))))
    await s.execute(
        update(InboundMessage).where(InboundMessage.case_id.in_(case_ids)).values(envelope_from="", envelope_to=[])
    )
    await s.execute(
        update(Delivery)
        .where(Delivery.case_id.in_(case_ids), Delivery.audience == "customer")
        .values(recipient=PURGED, last_error=None, dsn_diagnostic=None)
    )
    await s.execute(update(OutboxEvent).where(OutboxEvent.case_id.in_(case_ids)).values(payload={"purged": True}))

    history = (
        await s.execute(
            select(CaseHistory.id, CaseHistory.actor, CaseHistory.changes, CaseHistory.note).where(
                CaseHistory.case_id.in_(case_ids), CaseHistory.redacted_at.is_(None)
            )
        )
    ).all()
    for row_id, who, changes, note in history:
        await s.execute(
            update(CaseHistory)
            .where(CaseHistory.id == row_id)
            .values(
                actor="customer:" + PURGED if who.startswith("customer:") else who,
                changes=_redacted_changes(changes or {}),
                note=PURGED if note else "",
                redacted_at=now,
            )
        )
    count("history_rows", len(history))

    cases = (await s.execute(select(Case).where(Case.id.in_(case_ids)))).scalars().all()
    for case in cases:
        case.subject, case.description = PURGED, PURGED if case.description else ""
        case.vehicle = PURGED if case.vehicle else None
        case.purged_at = case.updated_at = now
        record_history(s, case=case, at=now, actor=actor, action="records_purged", note="retention passed")
    count("cases", len(cases))

    # A contact with no case left that keeps personal data is anonymised with its addresses.
    contact_ids = {case.contact_id for case in cases}
    kept = set(
        (
            await s.execute(
                select(Case.contact_id).where(
                    Case.contact_id.in_(contact_ids), Case.purged_at.is_(None), Case.id.not_in(case_ids)
                )
            )
        ).scalars()
    )
    gone_contacts = sorted(contact_ids - kept)
    if gone_contacts:
        await s.execute(update(Contact).where(Contact.id.in_(gone_contacts)).values(name=PURGED))
        identities = (
            (await s.execute(select(Identity.id).where(Identity.contact_id.in_(gone_contacts)))).scalars().all()
        )
        for identity_id in identities:  # unique (kind, value): each its own placeholder
            await s.execute(
                update(Identity)
                .where(Identity.id == identity_id)
                .values(value=f"purged-{identity_id}", active=False, bounced_at=None, bounce_status=None)
            )
        count("contacts", len(gone_contacts))
        count("identities", len(identities))
    return counts


async def purge(
    db: Database,
    actor: Actor,
    now: datetime,
    outgoing_folder: Path | None,
    progress: Progress | None = None,
) -> PurgeResult:
    """Remove what `plan(now)` lists; a run that removed something leaves a `purges` row."""
    _require_admin(actor)
    async with db.reader() as s:
        todo = await plan(s, now, outgoing_folder)
    async with db.reader() as s:
        ids = {ref: case_id for case_id, ref, _ in await _due_cases(s, now, todo.retention_days[RecordKind.CASE])}
    counts: dict[str, int] = {}
    done: list[str] = []
    for start in range(0, len(todo.cases), BATCH):
        refs = todo.cases[start : start + BATCH]
        async with db.unit_of_work() as s:
            # Held or purged since the plan (another admin, another instance): left alone.
            still = (
                await s.execute(
                    select(Case.id, Case.reference)
                    .where(Case.id.in_([ids[r] for r in refs if r in ids]))
                    .where(Case.legal_hold.is_(False), Case.purged_at.is_(None))
                    .with_for_update()
                )
            ).all()
            for what, n in (await _purge_cases(s, actor, [i for i, _ in still], now)).items():
                counts[what] = counts.get(what, 0) + n
        done += [ref for _, ref in still]
        if progress:
            progress(min(start + BATCH, len(todo.cases)), len(todo.cases))
    async with db.unit_of_work() as s:
        unlinked = _unlinked_raw(now, todo.retention_days[RecordKind.RAW_MAIL])
        raw_ids = list((await s.execute(unlinked)).scalars())
        if raw_ids:
            await s.execute(delete(InboundRaw).where(InboundRaw.inbound_id.in_(raw_ids)))
            await s.execute(update(InboundMessage).where(InboundMessage.id.in_(raw_ids)).values(envelope_from=""))
        counts["unlinked_raw_mail"] = len(raw_ids)
    removed = 0
    for path in todo.outgoing_files:
        try:
            path.unlink()
            removed += 1
        except FileNotFoundError:
            pass
    counts["outgoing_files"] = removed
    if done or raw_ids or removed:
        async with db.unit_of_work() as s:
            s.add(Purge(at=now, actor=actor.label, counts=counts, references={"cases": done}))
        log.info("records purge by %s: %s", actor.label, counts)
    return PurgeResult(counts=counts, cases=done)


async def purges(s: AsyncSession, limit: int = 50) -> list[dict[str, Any]]:
    rows = (await s.execute(select(Purge).order_by(Purge.id.desc()).limit(limit))).scalars().all()
    return [
        {"at": p.at.isoformat(), "actor": p.actor, "counts": p.counts, "cases": p.references.get("cases", [])}
        for p in rows
    ]
