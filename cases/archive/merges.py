"""Merges and moves in the customer archive, recorded so that they can be undone exactly.

Each writes one `archive_merges` row whose `moved` lists every row it moved and where from:
{"identities": [[id, old contact]], "contacts": [[id, old customer]],
 "cases": [[id, old contact, old customer]]}. Undo moves back those that are still where the
merge put them (a row moved again since is left alone). Every moved case gets a history row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.domain.actors import Actor
from cases.domain.errors import Conflict, InvalidInput, NotFound
from cases.services.records import record_history
from cases.store.models import ArchiveMerge, Case, Contact, Customer, Identity

Moved = dict[str, list[list[int]]]
# kind -> which column of a moved case says it is still where the merge put it
CASE_KEY = {"contact": "contact_id", "customer": "customer_id", "contact_move": "customer_id"}


@dataclass(frozen=True, slots=True)
class MergeResult:
    id: int
    kind: str
    source_id: int
    target_id: int
    moved: dict[str, int]  # what -> how many rows
    undone: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "source_id": self.source_id,
            "target_id": self.target_id,
            "moved": self.moved,
            "undone": self.undone,
        }


async def _get(s: AsyncSession, model: type[Customer] | type[Contact], row_id: int) -> Any:
    row = await s.get(model, row_id)
    if row is None:
        raise NotFound(
            f"there is no {model.__tablename__[:-1]} #{row_id}", zh=f"{model.__tablename__[:-1]} #{row_id} 不存在"
        )
    return row


async def merge_contacts(s: AsyncSession, actor: Actor, source_id: int, target_id: int, now: datetime) -> Moved:
    await _get(s, Contact, source_id)
    target = await _get(s, Contact, target_id)
    identities = list((await s.execute(select(Identity).where(Identity.contact_id == source_id))).scalars())
    for identity in identities:
        identity.contact_id = target.id
    cases = list((await s.execute(select(Case).where(Case.contact_id == source_id).with_for_update())).scalars())
    moved_cases = [[c.id, c.contact_id, c.customer_id] for c in cases]
    for case in cases:
        move_case(s, case, actor, now, target.id, target.customer_id, f"contact #{source_id} merged into #{target_id}")
    return {"identities": [[i.id, source_id] for i in identities], "cases": moved_cases}


async def merge_customers(s: AsyncSession, actor: Actor, source_id: int, target_id: int, now: datetime) -> Moved:
    source = await _get(s, Customer, source_id)
    target = await _get(s, Customer, target_id)
    if source.is_unassigned or target.is_unassigned:
        raise InvalidInput(
            "the unassigned pool is not merged as a whole; move or merge its contacts one by one",
            zh="未分配客户池不能整体合并；请逐个移动或合并其中的联系人",
        )
    contacts = list((await s.execute(select(Contact).where(Contact.customer_id == source_id))).scalars())
    for contact in contacts:
        contact.customer_id = target.id
    cases = list((await s.execute(select(Case).where(Case.customer_id == source_id).with_for_update())).scalars())
    moved_cases = [[c.id, c.contact_id, c.customer_id] for c in cases]
    for case in cases:
        move_case(s, case, actor, now, case.contact_id, target.id, f"customer #{source_id} merged into #{target_id}")
    return {"contacts": [[c.id, source_id] for c in contacts], "cases": moved_cases}


async def move_contact(s: AsyncSession, actor: Actor, contact: Contact, customer_id: int, now: datetime) -> Moved:
    """A contact (typically of the unassigned pool) and its cases go to a customer."""
    target = await _get(s, Customer, customer_id)
    old = contact.customer_id
    contact.customer_id = target.id
    cases = list(
        (
            await s.execute(
                select(Case).where(Case.contact_id == contact.id, Case.customer_id == old).with_for_update()
            )
        ).scalars()
    )
    moved_cases = [[c.id, c.contact_id, c.customer_id] for c in cases]
    for case in cases:
        move_case(s, case, actor, now, contact.id, target.id, f"contact #{contact.id} moved to customer #{target.id}")
    return {"contacts": [[contact.id, old]], "cases": moved_cases}


async def record(
    s: AsyncSession, actor: Actor, kind: str, source_id: int, target_id: int, moved: Moved, now: datetime
) -> MergeResult:
    merge = ArchiveMerge(
        kind=kind, source_id=source_id, target_id=target_id, moved=moved, actor=actor.label, created_at=now
    )
    s.add(merge)
    await s.flush()
    return MergeResult(merge.id, kind, source_id, target_id, {k: len(v) for k, v in moved.items()})


async def undo(s: AsyncSession, actor: Actor, merge_id: int, now: datetime) -> MergeResult:
    merge = await s.get(ArchiveMerge, merge_id, with_for_update=True)
    if merge is None:
        raise NotFound(f"there is no merge #{merge_id}", zh=f"合并记录 #{merge_id} 不存在")
    if merge.undone_at is not None:
        raise Conflict(f"merge #{merge_id} was already undone", zh=f"合并记录 #{merge_id} 已被撤销")
    back: dict[str, int] = {}
    moved = merge.moved or {}
    for identity_id, contact_id in moved.get("identities", []):
        identity = await s.get(Identity, identity_id)
        if identity is not None and identity.contact_id == merge.target_id:
            identity.contact_id = contact_id
            back["identities"] = back.get("identities", 0) + 1
    for contact_id, customer_id in moved.get("contacts", []):
        contact = await s.get(Contact, contact_id)
        if contact is not None and contact.customer_id == merge.target_id:
            contact.customer_id = customer_id
            back["contacts"] = back.get("contacts", 0) + 1
    key = CASE_KEY.get(merge.kind, "customer_id")
    for case_id, contact_id, customer_id in moved.get("cases", []):
        case = await s.get(Case, case_id, with_for_update=True)
        if case is not None and getattr(case, key) == merge.target_id:
            move_case(
                s, case, actor, now, contact_id, customer_id, f"merge #{merge_id} undone", action="archive_unmerged"
            )
            back["cases"] = back.get("cases", 0) + 1
    merge.undone_at, merge.undone_by = now, actor.label
    return MergeResult(merge.id, merge.kind, merge.source_id, merge.target_id, back, undone=True)


def move_case(
    s: AsyncSession,
    case: Case,
    actor: Actor,
    now: datetime,
    contact_id: int,
    customer_id: int,
    note: str,
    action: str = "archive_merged",
) -> None:
    changes = {
        k: [getattr(case, k), v]
        for k, v in (("contact_id", contact_id), ("customer_id", customer_id))
        if getattr(case, k) != v
    }
    if not changes:
        return
    record_history(s, case=case, at=now, actor=actor, action=action, changes=changes, note=note)
    case.contact_id, case.customer_id, case.updated_at = contact_id, customer_id, now
