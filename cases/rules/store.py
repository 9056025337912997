"""Where the rule tables' changes are kept (rule_settings, one row a changed key) and read: a
key without a row, or with a value the table no longer allows, has the table's default.

The intake reads the hold rules once per unit of work (`batch_values`): the processor handles a
batch of mail in one session, so a change counts from the next batch on, in every instance,
without a query per mail and without a cache to invalidate."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.rules.tables import RuleTable
from cases.store.models import RuleChange, RuleSetting

_BATCH = "kefu_rule_values"  # session.info key: table name -> values, for one unit of work


async def values(s: AsyncSession, table: RuleTable) -> dict[str, str]:
    """Every key of the table with the value that counts now."""
    rows = await s.execute(select(RuleSetting.rule_key, RuleSetting.value).where(RuleSetting.rule_table == table.name))
    stored = {key: value for key, value in rows if table.allows(value)}
    return {k.name: stored.get(k.name, k.default) for k in table.keys}


async def batch_values(s: AsyncSession, table: RuleTable) -> dict[str, str]:
    """values(), read at most once in this session (the intake's batch)."""
    cache: dict[str, dict[str, str]] = s.info.setdefault(_BATCH, {})
    if table.name not in cache:
        cache[table.name] = await values(s, table)
    return cache[table.name]


async def value(s: AsyncSession, table: RuleTable, key: str) -> str | None:
    """One key's value; None for a key the table does not have."""
    found = table.key(key)
    if found is None:
        return None
    row = await s.get(RuleSetting, (table.name, key))
    return row.value if row is not None and table.allows(row.value) else found.default


async def settings(s: AsyncSession, table: RuleTable) -> list[dict[str, Any]]:
    """The table as the page and the API show it: key, value, default, who changed it when."""
    rows = (await s.execute(select(RuleSetting).where(RuleSetting.rule_table == table.name))).scalars()
    stored = {r.rule_key: r for r in rows if table.allows(r.value)}
    out = []
    for k in table.keys:
        row = stored.get(k.name)
        out.append(
            {
                "key": k.name,
                "value": row.value if row else k.default,
                "default": k.default,
                "changed_by": row.changed_by if row else None,
                "changed_at": row.changed_at.isoformat() if row else None,
            }
        )
    return out


async def history(s: AsyncSession, name: str, limit: int = 50) -> list[dict[str, Any]]:
    """The latest changes and refused attempts kept under `name` (a rule table's, or another
    admin table's such as the departments'), newest first."""
    rows = (
        await s.execute(
            select(RuleChange)
            .where(RuleChange.rule_table == name)
            .order_by(RuleChange.changed_at.desc(), RuleChange.id.desc())
            .limit(limit)
        )
    ).scalars()
    return [
        {
            "key": r.rule_key,
            "old_value": r.old_value,
            "new_value": r.new_value,
            "outcome": r.outcome,
            "note": r.note,
            "changed_by": r.changed_by,
            "changed_at": r.changed_at.isoformat(),
        }
        for r in rows
    ]


def keep(
    s: AsyncSession,
    name: str,
    key: str,
    old: str | None,
    new: str,
    by: str,
    now: datetime,
    *,
    refused: str | None = None,
    note: str | None = None,
) -> None:
    """One line of the history kept under `name`: a change, or (`refused`: why) a refused
    attempt, written in the caller's unit of work."""
    s.add(
        RuleChange(
            rule_table=name,
            rule_key=key[:60],
            old_value=old[:60] if old is not None else None,
            new_value=new[:60],
            outcome="refused" if refused else "changed",
            note=(refused or note or "")[:500] or None,
            changed_by=by[:120],
            changed_at=now,
        )
    )


async def put(s: AsyncSession, table: RuleTable, key: str, new: str, by: str, now: datetime) -> str:
    """Set one key (already checked); the history row with old and new. Returns the old value."""
    row = await s.get(RuleSetting, (table.name, key), with_for_update=True)
    found = table.key(key)
    old = row.value if row is not None else (found.default if found else "")
    if row is None:
        s.add(RuleSetting(rule_table=table.name, rule_key=key, value=new, changed_by=by, changed_at=now))
    else:
        row.value, row.changed_by, row.changed_at = new, by, now
    keep(s, table.name, key, old, new, by, now)
    return old
