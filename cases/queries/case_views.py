"""What staff see of cases: lists, details, attachments, their departments and themselves.

Plain dicts out (ready for JSON), datetimes as ISO 8601 UTC strings. Every case read takes a
`Scope`: which departments' cases the reader may see. A case outside the scope is reported as
not found, so that its existence does not leak (intake rules, "Web console").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, false, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from cases.domain.actors import Actor
from cases.domain.enums import CaseState, Direction, Speaker
from cases.domain.errors import InvalidInput, NotFound
from cases.domain.filetypes import mismatch
from cases.domain.states import DEADLINE_RUNS, allowed_actions
from cases.quality import repeats
from cases.quality.due_steps import steps_of
from cases.queries import deliveries, keyset, ratings
from cases.rules import store as rule_store
from cases.rules.tables import ROUTING
from cases.search.query import Search
from cases.store.models import (
    Attachment,
    Blob,
    Case,
    CaseHistory,
    CaseMessage,
    Contact,
    Customer,
    Department,
    DocumentText,
    DueStep,
    ReviewTeamMember,
    User,
)

Row = dict[str, Any]
MAX_LIMIT = 200


@dataclass(frozen=True, slots=True)
class Scope:
    """Which cases a reader may see: every case, or only those of one department."""

    all_departments: bool
    department_id: int | None = None

    def condition(self) -> ColumnElement[bool]:
        if self.all_departments:
            return true()
        if self.department_id is None:
            # `Case.department_id == None` would be IS NULL: every unassigned case. Nothing instead.
            return false()
        # A department on a case's review team reads it too (6.3.3); it takes no steps there.
        team = select(ReviewTeamMember.case_id).where(ReviewTeamMember.department_id == self.department_id)
        return or_(Case.department_id == self.department_id, Case.id.in_(team))


EVERYTHING = Scope(all_departments=True)


@dataclass(frozen=True, slots=True)
class CaseFilter:
    state: CaseState | None = None
    department: str | None = None  # a department code
    type: str | None = None  # a CaseType value
    customer_id: int | None = None
    customer_name: str | None = None  # a part of the customer's (company's) name
    q: str | None = None  # words to search for (cases/search/)
    received_from: datetime | None = None  # inclusive
    received_to: datetime | None = None  # exclusive
    channel: str | None = None  # a Channel value
    severity: str | None = None  # a Severity value
    part_number: str | None = None  # exact, or the start of one
    batch: str | None = None  # exact, or the start of one
    # Still owing the answer past the customer's deadline or an agreed step, as of `now`.
    overdue: bool = False
    now: datetime | None = None
    limit: int = 50
    offset: int = 0
    sort: str = keyset.DEFAULT_SORT  # a key of keyset.SORTS
    cursor: str | None = None  # the next_cursor of the page before


def iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value is not None else None


def redact(address: str) -> str:
    """`zhang.wei@example.cn` -> `z***@example.cn`.

    The same rule as intake.smtp.redact; kept here because `cases` must not import `intake`."""
    local, at, domain = address.partition("@")
    return f"{local[:1]}***{at}{domain}" if at else "***"


# -- departments and the caller -------------------------------------------------------------
async def departments(s: AsyncSession, *, with_active: bool = False) -> list[Row]:
    """Every department, deactivated ones too (old cases name them); `with_active` adds
    whether each may still be given to a case or an account (the console's forms)."""
    rows = (await s.execute(select(Department).order_by(Department.id))).scalars()
    return [
        {"code": d.code, "name_zh": d.name_zh, "name_en": d.name_en, **({"active": d.active} if with_active else {})}
        for d in rows
    ]


async def department_codes(s: AsyncSession) -> list[str]:
    return list((await s.execute(select(Department.code).order_by(Department.id))).scalars())


async def me(s: AsyncSession, actor: Actor) -> Row:
    user = await s.get(User, actor.user_id) if actor.user_id is not None else None
    return {
        "username": actor.label,
        "display_name": user.display_name if user else actor.label,
        "roles": sorted(r.value for r in actor.roles),
        "department": user.department.code if user and user.department else None,
    }


# -- cases ----------------------------------------------------------------------------------
def _summary_select() -> Select[Case, str, str | None]:
    return (
        select(Case, Customer.name, Department.code)
        .join(Customer, Customer.id == Case.customer_id)
        .outerjoin(Department, Department.id == Case.department_id)
    )


# The list reads only what its items show: loading whole cases (description, analysis, ...) as
# ORM objects cost more than the query (profiled on 100,000 cases: 4 of 5 ms a page).
_LIST_COLUMNS = (
    Case.id,
    Case.reference,
    Case.type,
    Case.channel,
    Case.state,
    Case.severity,
    Case.subject,
    Case.part_number,
    Case.customer_id,
    Case.received_at,
    Case.updated_at,
    Case.customer_deadline,
)


def _summary(case: Any, customer_name: str, department: str | None) -> Row:
    """A case's summary; `case` a Case or a row of `_LIST_COLUMNS`."""
    return {
        "reference": case.reference,
        "type": case.type,
        "channel": case.channel,
        "state": case.state,
        "severity": case.severity,
        "subject": case.subject,
        "part_number": case.part_number,
        "customer_id": case.customer_id,
        "customer_name": customer_name,
        "department": department,
        "received_at": iso(case.received_at),
        "updated_at": iso(case.updated_at),
        "customer_deadline": iso(case.customer_deadline),
    }


async def list_cases(s: AsyncSession, scope: Scope, f: CaseFilter) -> Row:
    """{"items": [...], "total": n, "sort": ..., "next_cursor": ...}; newest first unless
    `f.sort` says otherwise. A page after `f.cursor` is found by keyset (cases/queries/keyset.py);
    `f.offset` still skips rows, for clients written before the cursor."""
    sort = keyset.SORTS[f.sort]
    after = keyset.decode(f.cursor, sort) if f.cursor else None
    # No `1 = 1` for a reader of every department: it keeps SQLite from counting the table by
    # its b-tree (2.5 ms instead of 0.01 ms at 100,000 cases).
    conditions: list[ColumnElement[bool]] = [] if scope.all_departments else [scope.condition()]
    if f.state is not None:
        conditions.append(Case.state == f.state)
    if f.department is not None:
        dept_id = (await s.execute(select(Department.id).where(Department.code == f.department))).scalar_one_or_none()
        if dept_id is None:
            codes = ", ".join(await department_codes(s))
            raise InvalidInput(
                f"unknown department {f.department!r}; one of: {codes}",
                zh=f"未知的部门 {f.department!r}；可选：{codes}",
            )
        conditions.append(Case.department_id == dept_id)
    if f.type is not None:
        conditions.append(Case.type == f.type)
    if f.customer_id is not None:
        conditions.append(Case.customer_id == f.customer_id)
    if f.customer_name:
        named = select(Customer.id).where(Customer.name.icontains(f.customer_name.strip(), autoescape=True))
        conditions.append(Case.customer_id.in_(named))
    search = await Search.prepare(s, f.q) if f.q else None
    if search is not None:
        # reference, subject, description, part number, messages and text read from faxes and
        # scanned letters, in Chinese and English (cases/search/)
        conditions.append(search.condition())
    if f.received_from is not None:
        conditions.append(Case.received_at >= f.received_from)
    if f.received_to is not None:
        conditions.append(Case.received_at < f.received_to)
    if f.channel is not None:
        conditions.append(Case.channel == f.channel)
    if f.severity is not None:
        conditions.append(Case.severity == f.severity)
    if f.part_number:
        conditions.append(Case.part_number.startswith(f.part_number.strip(), autoescape=True))
    if f.batch:
        conditions.append(Case.batch.startswith(f.batch.strip(), autoescape=True))
    if f.overdue:
        now = f.now or datetime.now(UTC)
        late_step = select(DueStep.case_id).where(DueStep.done_at.is_(None), DueStep.due_at <= now)
        conditions.append(Case.state.in_(DEADLINE_RUNS))
        conditions.append(or_(Case.customer_deadline <= now, Case.id.in_(late_step)))
    if search is not None and search.terms and len(conditions) == 1 and scope.all_departments:
        total = search.matches  # every index row is a case's: no need to visit the cases
    else:
        total = (await s.execute(select(func.count()).select_from(Case).where(*conditions))).scalar_one()
    limit = min(f.limit, MAX_LIMIT)
    # the sort key too, for the cursor (the rank columns are not among the list's columns)
    keys = () if any(sort.column is c for c in _LIST_COLUMNS) else (sort.column,)
    base = (
        select(*_LIST_COLUMNS, *keys, Customer.name.label("customer_name"), Department.code.label("department_code"))
        .join(Customer, Customer.id == Case.customer_id)
        .outerjoin(Department, Department.id == Case.department_id)
        .where(*conditions)
    )
    if not sort.nullable:
        stmt = base.where(*([sort.after(after)] if after else [])).order_by(*sort.order_by())
        rows = list((await s.execute(stmt.limit(limit).offset(f.offset))).all())
    else:
        rows = await _keyed_then_unkeyed(s, base, sort, after, limit, f.offset)
    items = [_summary(row, row._mapping["customer_name"], row._mapping["department_code"]) for row in rows]
    more = len(rows) == limit and f.offset + limit < total if after is None else len(rows) == limit
    return {
        "items": items,
        "total": total,
        "sort": sort.name,
        "next_cursor": keyset.next_cursor(sort, rows[-1]) if rows and more else None,
    }


async def _keyed_then_unkeyed(
    s: AsyncSession,
    base: Select[*tuple[Any, ...]],
    sort: keyset.Sort,
    after: keyset.Cursor | None,
    limit: int,
    offset: int,
) -> list[Any]:
    """A page of a sort whose key may be missing: the rows with a key in order, then those
    without by id (cases/queries/keyset.py), `offset` counted across both runs."""
    rows: list[Any] = []
    skip = offset
    if after is None or after.key is not None:
        keyed = base.where(sort.keyed(), *([sort.after(after)] if after else []))
        rows = list((await s.execute(keyed.order_by(*sort.order_by()).limit(limit).offset(offset))).all())
        if len(rows) == limit:
            return rows
        if rows or not offset:
            skip = 0
        else:  # the offset went past every keyed row: skip the rest of it among the others
            counted = select(func.count()).select_from(keyed.order_by(None).subquery())
            skip = offset - (await s.execute(counted)).scalar_one()
    missing, order = sort.unkeyed()
    unkeyed = base.where(missing, *([sort.after(after)] if after and after.key is None else []))
    rows += (await s.execute(unkeyed.order_by(order).limit(limit - len(rows)).offset(skip))).all()
    return rows


async def visible_case(s: AsyncSession, scope: Scope, reference: str) -> tuple[Case, str, str | None]:
    row = (
        await s.execute(_summary_select().where(Case.reference == reference.strip().upper(), scope.condition()))
    ).first()
    if row is None:
        # The same answer whether the case is missing or another department's: no existence leak.
        hint = "" if scope.all_departments else " in your department"
        raise NotFound(
            f"there is no case {reference}{hint}", zh=f"{'' if scope.all_departments else '本部门'}没有案件 {reference}"
        )
    return row[0], row[1], row[2]


async def ensure_visible(s: AsyncSession, scope: Scope, reference: str) -> None:
    """Raise NotFound unless the reader may see this case (checked before every write too)."""
    await visible_case(s, scope, reference)


async def case_detail(s: AsyncSession, scope: Scope, reference: str, actor: Actor, now: datetime | None = None) -> Row:
    """The case with its conversation, history, agreed steps (overdue ones marked, as of `now`)
    and what the actor may do next."""
    case, customer_name, department = await visible_case(s, scope, reference)
    contact_name = (await s.execute(select(Contact.name).where(Contact.id == case.contact_id))).scalar_one()
    linked = None
    if case.linked_case_id is not None:
        linked = (await s.execute(select(Case.reference).where(Case.id == case.linked_case_id))).scalar_one_or_none()
    row = _summary(case, customer_name, department)
    row.update(
        {
            "description": case.description,
            "batch": case.batch,
            "quantity": case.quantity,
            "vehicle": case.vehicle,
            "reply_channel": case.reply_channel,
            "language": case.language,
            "contact": {"id": case.contact_id, "name": contact_name},
            "linked_case": linked,
            "failure_category": case.failure_category,
            "failure_mode": case.failure_mode,
            "field_failure": case.field_failure,
            "severity_by_approver": case.severity_by_approver,
            # The routing table's department for the category: what the approver's form proposes.
            "routed_department": (
                await rule_store.value(s, ROUTING, case.failure_category) if case.failure_category else None
            ),
            **await repeats.links_of(s, case.id),
            "review_team": await review_team(s, case.id),
            "created_at": iso(case.created_at),
            "no_action_reason": case.no_action_reason,
            "analysis": case.analysis,
            "measures": case.measures,
            "verification": case.verification,
            "rating": case.rating,
            "rating_score": case.rating_score,
            "satisfaction_requested_at": iso(case.satisfaction_requested_at),
            "reminder_sent_at": iso(case.reminder_sent_at),
            "closed_at": iso(case.closed_at),
            "reopen_count": case.reopen_count,
            "ratings": await ratings.of_case(s, case.id),
            "version": case.version,
            "messages": await _messages(s, case),
            "history": await _history(s, case.id),
            "deliveries": await deliveries.of_case(s, case.id),
            "bounced_addresses": await deliveries.bounced_addresses(s, case.contact_id),
            "due_steps": await steps_of(s, case.id, now or datetime.now(UTC)),
            "allowed_actions": [a.value for a in allowed_actions(case.state, actor, case.department_id, case.severity)],
        }
    )
    return row


async def review_team(s: AsyncSession, case_id: int) -> list[Row]:
    rows = await s.execute(
        select(ReviewTeamMember.name, Department.code, ReviewTeamMember.leader)
        .join(Department, Department.id == ReviewTeamMember.department_id)
        .where(ReviewTeamMember.case_id == case_id)
        .order_by(ReviewTeamMember.id)
    )
    return [{"name": name, "department": code, "leader": leader} for name, code, leader in rows]


async def _messages(s: AsyncSession, case: Case) -> list[Row]:
    author = aliased(User)
    rows = (
        await s.execute(
            select(
                CaseMessage.id,
                CaseMessage.direction,
                CaseMessage.channel,
                CaseMessage.message_id,
                CaseMessage.sender,
                author.username,
                CaseMessage.subject,
                CaseMessage.body,
                CaseMessage.new_text,
                CaseMessage.html.is_not(None),
                CaseMessage.is_automatic,
                CaseMessage.created_at,
                CaseMessage.speaker,
                CaseMessage.possible_duplicate,
                CaseMessage.forwarded,
            )
            .outerjoin(author, author.id == CaseMessage.author_user_id)
            .where(CaseMessage.case_id == case.id)
            .order_by(CaseMessage.created_at, CaseMessage.id)
        )
    ).all()
    attachments: dict[int, list[Row]] = {}
    # the pages of each read fax or letter (cases/services/documents.py)
    pages = dict(
        (
            await s.execute(
                select(DocumentText.attachment_id, DocumentText.pages).where(DocumentText.case_id == case.id)
            )
        ).all()
    )
    for att in (
        await s.execute(
            select(Attachment)
            .join(CaseMessage, CaseMessage.id == Attachment.message_id)
            .where(CaseMessage.case_id == case.id)
            .order_by(Attachment.id)
        )
    ).scalars():
        attachments.setdefault(att.message_id, []).append(
            {
                "id": att.id,
                "filename": att.filename,
                "content_type": att.content_type,
                # what the bytes say, and whether that disagrees with the declared type or name
                "sniffed_type": att.sniffed_type,
                "type_mismatch": mismatch(att.content_type, att.filename, att.sniffed_type),
                "pages": pages.get(att.id),
                "size": att.size,
                "url": f"/api/v1/cases/{case.reference}/attachments/{att.id}",
            }
        )
    # The stored HTML is never handed out: it would render from our origin (stored XSS).
    return [
        {
            "id": r[0],
            "direction": r[1],
            "channel": r[2],
            "message_id": r[3],
            "sender": r[4],
            "author": r[5],
            "subject": r[6],
            "body": r[7],
            "new_text": r[8],
            "has_html": bool(r[9]),
            "html_url": f"/api/v1/cases/{case.reference}/messages/{r[0]}/html" if r[9] else None,
            "is_automatic": r[10],
            "created_at": iso(r[11]),
            # Who wrote it: for inbound mail the customer or a third party (flagged for staff);
            # staff for a note, whether written in kefu or sent in by mail.
            "speaker": r[12] or (Speaker.CUSTOMER if r[1] is Direction.IN else Speaker.STAFF),
            "possible_duplicate": r[13],
            # a mail forwarded inside this one: its sender, subject and text
            "forwarded": r[14],
            "attachments": attachments.get(r[0], []),
        }
        for r in rows
    ]


async def _history(s: AsyncSession, case_id: int) -> list[Row]:
    rows = (
        await s.execute(
            select(CaseHistory).where(CaseHistory.case_id == case_id).order_by(CaseHistory.at, CaseHistory.id)
        )
    ).scalars()
    return [
        {
            "id": h.id,
            "at": iso(h.at),
            "actor": h.actor,
            "action": h.action,
            "from_state": h.from_state,
            "to_state": h.to_state,
            "changes": h.changes,
            "note": h.note,
        }
        for h in rows
    ]


@dataclass(frozen=True, slots=True)
class AttachmentFile:
    filename: str
    content_type: str  # as the sender declared it: informative only, never served as such
    data: bytes


async def attachment(s: AsyncSession, scope: Scope, reference: str, attachment_id: int) -> AttachmentFile:
    row = (
        await s.execute(
            select(Attachment.filename, Attachment.content_type, Blob.data)
            .join(Blob, Blob.sha256 == Attachment.sha256)
            .join(CaseMessage, CaseMessage.id == Attachment.message_id)
            .join(Case, Case.id == CaseMessage.case_id)
            .where(Attachment.id == attachment_id, Case.reference == reference.strip().upper(), scope.condition())
        )
    ).first()
    if row is None:
        raise NotFound(
            f"there is no attachment {attachment_id} on case {reference}",
            zh=f"案件 {reference} 没有附件 {attachment_id}",
        )
    return AttachmentFile(row[0], row[1], row[2])


async def message_html(s: AsyncSession, scope: Scope, reference: str, message_id: int) -> str:
    """The sanitised HTML of a message, for a download (never served inline)."""
    html = (
        await s.execute(
            select(CaseMessage.html)
            .join(Case, Case.id == CaseMessage.case_id)
            .where(CaseMessage.id == message_id, Case.reference == reference.strip().upper(), scope.condition())
        )
    ).scalar_one_or_none()
    if html is None:
        raise NotFound(
            f"there is no HTML of message {message_id} on case {reference}",
            zh=f"案件 {reference} 没有消息 {message_id} 的 HTML",
        )
    return html
