"""RuleService: the one call that changes a key of any rule table (cases/rules/tables.py). It
decides who may (the table's keepers) and what is allowed; the console's and the API's
handlers only translate. A refused attempt by someone who is no keeper is written to the
table's history too ("refused", who, what they asked), as the case history keeps refusals
(cases/services/refusals.py), so that the keepers see it was tried."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.domain.actors import Actor
from cases.domain.clock import Clock
from cases.domain.errors import Forbidden, InvalidInput, NotFound
from cases.domain.vocabulary import label
from cases.rules import store
from cases.rules.tables import TABLES, Choice, RuleTable
from cases.store.db import Database
from cases.store.models import Department

log = logging.getLogger(__name__)


def table_named(name: str) -> RuleTable:
    table = TABLES.get(name)
    if table is None:
        raise NotFound(
            f"no rule table {name!r}; one of: {', '.join(TABLES)}", zh=f"没有规则表 {name!r}；可选：{', '.join(TABLES)}"
        )
    return table


async def choices(s: AsyncSession, table: RuleTable) -> tuple[Choice, ...]:
    """The values the table's keys may take now."""
    if table.choices_from == "departments":
        rows = await s.execute(
            select(Department.code, Department.name_zh, Department.name_en)
            .where(Department.active)
            .order_by(Department.id)
        )
        return tuple(Choice(code, (zh, en)) for code, zh, en in rows)
    return table.choices


def _keepers(table: RuleTable, language: str) -> str:
    """The roles that keep the table, named in `language` ("zh" or "en")."""
    if language == "en":
        return " or ".join(sorted(label("role", r, "en") for r in table.keepers))
    return "、".join(sorted(label("role", r, "zh") for r in table.keepers))


class RuleService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def change(self, actor: Actor, table_name: str, key: str, value: str) -> dict[str, Any]:
        """Set one key of one table; returns the key as the API shows it."""
        table = table_named(table_name)
        if not actor.roles & table.keepers:
            why = f"changing the {table.title[1].lower()} needs the role {_keepers(table, 'en')}"
            async with self.db.unit_of_work() as s:
                store.keep(s, table.name, key, None, value, actor.label, self.clock(), refused=why)
            log.warning("rules: %s.%s = %r refused to %s (no keeper)", table.name, key[:60], value[:60], actor.label)
            raise Forbidden(why, zh=f"修改{table.title[0]}需要以下角色之一：{_keepers(table, 'zh')}")
        if table.key(key) is None:
            raise InvalidInput(
                f"{key!r} is no key of the {table.name} table; one of: {', '.join(table.defaults())}",
                zh=f"{key!r} 不是{table.title[0]}的键；可选：{', '.join(table.defaults())}",
            )
        async with self.db.unit_of_work() as s:
            allowed = await choices(s, table)
            if not any(c.value == value for c in allowed):
                raise InvalidInput(
                    f"{value!r} is not allowed in the {table.name} table; one of: {', '.join(c.value for c in allowed)}",
                    zh=f"{table.title[0]}不允许取值 {value!r}；可选：{', '.join(c.value for c in allowed)}",
                )
            old = await store.put(s, table, key, value, actor.label[:120], self.clock())
        log.info("rules: %s.%s changed %r -> %r by %s", table.name, key, old, value, actor.label)
        return {"table": table.name, "key": key, "value": value, "old_value": old}

    async def table(self, table_name: str, history: int = 50) -> dict[str, Any]:
        """One table: its description, every key with value and default, its latest history."""
        table = table_named(table_name)
        async with self.db.reader() as s:
            rows = await store.settings(s, table)
            changes = await store.history(s, table.name, history) if history else []
            allowed = await choices(s, table)
        return {**describe(table, allowed), "rules": rows, "history": changes}


def describe(table: RuleTable, allowed: tuple[Choice, ...] | None = None) -> dict[str, Any]:
    """What a table is, as data (the API's and the page's description of it)."""
    return {
        "name": table.name,
        "title": {"zh": table.title[0], "en": table.title[1]},
        "help": {"zh": table.help[0], "en": table.help[1]},
        "keepers": sorted(r.value for r in table.keepers),
        "keys": [{"key": k.name, "zh": k.label[0], "en": k.label[1], "default": k.default} for k in table.keys],
        "choices": [{"value": c.value, "zh": c.label[0], "en": c.label[1]} for c in allowed or table.choices],
    }
