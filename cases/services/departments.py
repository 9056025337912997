"""The departments, as an admin keeps them: add, rename, deactivate and reactivate.

The table is seeded from the procedure (cases/domain/departments.py); from then on it is the
one list every form and check reads (assignment, accounts, the case filters, My work). A
department is never deleted: its old cases keep showing its name. Deactivating it takes it
off the forms that give a department (assign, reassign, accounts) and off `Users.change` and
`CaseService`'s checks; it is refused while the department still has open cases or active
members, who would otherwise be left with work nobody can route to them.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.domain.actors import Actor
from cases.domain.clock import Clock
from cases.domain.enums import Role
from cases.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from cases.domain.states import TERMINAL
from cases.rules import store as rule_store
from cases.store.db import Database
from cases.store.models import Case, Department, User

log = logging.getLogger(__name__)

# Changes to the departments are kept in the admin tables' history (cases/rules/, rule_changes)
# under this name: who, when, old -> new, and refused attempts, as for the rule tables.
HISTORY = "departments"
# What a history row's new value says: a change done, or the change a refused attempt asked for.
DEEDS = ("added", "renamed", "active", "inactive", "add", "rename")

# The code is stored on events, in URLs and notice routes: plain lowercase words.
CODE = re.compile(r"[a-z][a-z_]{0,39}")
NAME_MAX = 80


@dataclass(frozen=True, slots=True)
class DepartmentInfo:
    code: str
    name_zh: str
    name_en: str
    active: bool
    members: int  # active accounts in it
    open_cases: int  # its cases not closed (nor decided "no action")


class DepartmentInUse(Conflict):
    """Deactivating a department that still has work or people; the console words it per language."""

    def __init__(self, code: str, open_cases: int, members: int) -> None:
        super().__init__(
            f"department {code!r} still has {open_cases} open case(s) and {members} active member(s); "
            "reassign them first",
            zh=f"部门 {code!r} 仍有 {open_cases} 个未关闭案件和 {members} 名在职成员，请先转派案件、调整成员",
        )
        self.department = code
        self.open_cases = open_cases
        self.members = members


class Departments:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def _may_keep(self, actor: Actor, code: str, asked: str) -> None:
        """Admins only; a refused attempt is kept in the history (a forged form shows there)."""
        if Role.ADMIN in actor.roles:
            return
        why = "keeping the departments needs the role admin"
        async with self.db.unit_of_work() as s:
            rule_store.keep(s, HISTORY, code, None, asked, actor.label, self.clock(), refused=why)
        log.warning("department %r: %s refused to %r (not an admin)", code[:60], asked, actor.label)
        raise Forbidden(why, zh="维护部门需要管理员角色")

    def _trace(self, s: AsyncSession, actor: Actor, code: str, old: str | None, new: str, note: str | None) -> None:
        rule_store.keep(s, HISTORY, code, old, new, actor.label, self.clock(), note=note)

    async def history(self, limit: int = 50) -> list[dict[str, Any]]:
        """The latest changes and refused attempts, newest first."""
        async with self.db.reader() as s:
            return await rule_store.history(s, HISTORY, limit)

    async def list(self) -> list[DepartmentInfo]:
        async with self.db.reader() as s:
            # dict(result) would take the Result for a mapping (it has .keys()): the rows instead
            members: dict[int | None, int] = {
                dept_id: n
                for dept_id, n in (
                    await s.execute(
                        select(User.department_id, func.count())
                        .where(User.active.is_(True), User.department_id.is_not(None))
                        .group_by(User.department_id)
                    )
                ).all()
            }
            open_cases: dict[int | None, int] = {
                dept_id: n
                for dept_id, n in (
                    await s.execute(
                        select(Case.department_id, func.count())
                        .where(Case.state.not_in(TERMINAL), Case.department_id.is_not(None))
                        .group_by(Case.department_id)
                    )
                ).all()
            }
            rows = (await s.execute(select(Department).order_by(Department.id))).scalars()
            return [
                DepartmentInfo(d.code, d.name_zh, d.name_en, d.active, members.get(d.id, 0), open_cases.get(d.id, 0))
                for d in rows
            ]

    async def add(self, actor: Actor, code: str, name_zh: str, name_en: str) -> None:
        await self._may_keep(actor, code, "add")
        code = code.strip()
        if not CODE.fullmatch(code):
            raise InvalidInput(
                f"a department code is 1-40 lowercase letters a-z and underscores, starting with a letter: {code!r}",
                zh=f"部门代码为 1 至 40 个小写英文字母或下划线，以字母开头：{code!r}",
            )
        name_zh, name_en = _names(name_zh, name_en)
        async with self.db.unit_of_work() as s:
            if (await s.execute(select(Department.id).where(Department.code == code))).first():
                raise Conflict(f"department {code!r} exists already", zh=f"部门 {code!r} 已存在")
            s.add(Department(code=code, name_zh=name_zh, name_en=name_en, active=True))
            self._trace(s, actor, code, None, "added", f"{name_zh} / {name_en}")
        log.info("department %r added by %r", code, actor.label)

    async def rename(self, actor: Actor, code: str, name_zh: str, name_en: str) -> None:
        await self._may_keep(actor, code, "rename")
        name_zh, name_en = _names(name_zh, name_en)
        async with self.db.unit_of_work() as s:
            dept = await _by_code(s, code)
            old = f"{dept.name_zh} / {dept.name_en}"
            dept.name_zh, dept.name_en = name_zh, name_en
            self._trace(s, actor, code, None, "renamed", f"{old} → {name_zh} / {name_en}")
        log.info("department %r renamed by %r", code, actor.label)

    async def set_active(self, actor: Actor, code: str, active: bool) -> None:
        await self._may_keep(actor, code, _state(active))
        async with self.db.unit_of_work() as s:
            dept = await _by_code(s, code, lock=True)
            if not active and dept.active:
                # The lock on the department row keeps a concurrent assignment from slipping in
                # on PostgreSQL; SQLite has one writer anyway.
                cases = await s.execute(
                    select(func.count())
                    .select_from(Case)
                    .where(Case.department_id == dept.id, Case.state.not_in(TERMINAL))
                )
                people = await s.execute(
                    select(func.count()).select_from(User).where(User.department_id == dept.id, User.active.is_(True))
                )
                open_cases, members = int(cases.scalar_one()), int(people.scalar_one())
                if open_cases or members:
                    raise DepartmentInUse(code, open_cases, members)
            if dept.active != active:
                self._trace(s, actor, code, _state(dept.active), _state(active), None)
            dept.active = active
        log.info("department %r %s by %r", code, "enabled" if active else "disabled", actor.label)


def _state(active: bool) -> str:
    return "active" if active else "inactive"


def _names(name_zh: str, name_en: str) -> tuple[str, str]:
    name_zh, name_en = name_zh.strip(), name_en.strip()
    if not name_zh or not name_en:
        raise InvalidInput("a department needs its Chinese and its English name", zh="部门需要中文名称和英文名称")
    if len(name_zh) > NAME_MAX or len(name_en) > NAME_MAX:
        raise InvalidInput(
            f"a department's name has at most {NAME_MAX} characters", zh=f"部门名称最多 {NAME_MAX} 个字符"
        )
    return name_zh, name_en


async def _by_code(s: AsyncSession, code: str, *, lock: bool = False) -> Department:
    stmt = select(Department).where(Department.code == code)
    dept = (await s.execute(stmt.with_for_update() if lock else stmt)).scalar_one_or_none()
    if dept is None:
        raise NotFound(f"no department {code!r}", zh=f"没有部门 {code!r}")
    return dept
