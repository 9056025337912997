"""Staff accounts, roles and API tokens; departments seeded from the procedure.

Every change is written to the account trail (account_trail.py) in its own transaction, with
`by`: who made it (a username, or "cli:<login>" at the server's shell)."""

from __future__ import annotations

import builtins
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cases.domain.account_events import SYSTEM_ACTOR, AccountAction
from cases.domain.actors import Actor
from cases.domain.clock import Clock
from cases.domain.departments import DEPARTMENTS
from cases.domain.enums import Language, Role
from cases.domain.errors import Conflict, InvalidInput, NotFound
from cases.domain.tokens import hash_api_token, new_api_token
from cases.services.account_trail import record
from cases.services.passwords import Passwords
from cases.store.db import Database, hold_schema_lock
from cases.store.models import ApiToken, ConsoleSession, Department, User, UserRole

log = logging.getLogger(__name__)
PERSON_ROLES = frozenset(Role) - {Role.SYSTEM}


@dataclass(frozen=True, slots=True)
class CreatedToken:
    token: str  # shown once; only its hash is stored
    username: str


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A token as the admin sees it: never the secret, nor its hash."""

    id: int
    username: str
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


async def seed_departments(db: Database) -> int:
    added = 0
    async with db.unit_of_work() as s:
        await s.run_sync(lambda session: hold_schema_lock(session.connection()))  # one seeder at a time
        existing = set((await s.execute(select(Department.code))).scalars())
        for seed in DEPARTMENTS:
            if seed.code not in existing:
                s.add(Department(code=seed.code, name_zh=seed.name_zh, name_en=seed.name_en))
                added += 1
    return added


# How exact a token's `last_used_at` is: enough to tell a token in use from a forgotten one.
TOKEN_USE_PRECISION = timedelta(minutes=1)


def actor_for(user: User) -> Actor:
    return Actor(
        label=user.username,
        roles=frozenset(Role(r) for r in user.role_names if r in Role.__members__.values()),
        user_id=user.id,
        department_id=user.department_id,
    )


class Users:
    def __init__(self, db: Database, clock: Clock, passwords: Passwords) -> None:
        self.db = db
        self.clock = clock
        self.passwords = passwords

    async def add(
        self,
        username: str,
        *,
        display_name: str = "",
        email: str | None = None,
        roles: Sequence[str] = (),
        department: str | None = None,
        password: str | None = None,
        language: str = "zh",
        by: str = SYSTEM_ACTOR,
    ) -> User:
        username = username.strip()
        if not username:
            raise InvalidInput("the username must not be empty", zh="用户名不能为空")
        _check_roles(roles, department)
        if language not in tuple(Language):
            raise InvalidInput(
                f"unknown language {language!r}; one of: {', '.join(Language)}",
                zh=f"未知的语言 {language!r}；可选：{', '.join(Language)}",
            )
        password_hash = await self.passwords.hash(password) if password else None  # before the transaction
        async with self.db.unit_of_work() as s:
            if (await s.execute(select(User.id).where(User.username == username))).first():
                raise Conflict(f"user {username!r} exists already", zh=f"用户 {username!r} 已存在")
            dept_id = await _department_id(s, department)
            user = User(
                username=username,
                display_name=display_name or username,
                email=email,
                password_hash=password_hash,
                language=Language(language),
                department_id=dept_id,
                created_at=self.clock(),
                roles=[UserRole(role=Role(r)) for r in dict.fromkeys(roles)],
            )
            s.add(user)
            record(
                s,
                user.created_at,
                by,
                AccountAction.USER_ADDED,
                username,
                f"roles={_roles_text(roles)} department={department or '-'} language={language}",
            )
        return user

    async def create_token(self, username: str, name: str = "cli", *, by: str = SYSTEM_ACTOR) -> CreatedToken:
        token = new_api_token()
        async with self.db.unit_of_work() as s:
            user = await _by_name(s, username)
            row = ApiToken(user_id=user.id, name=name, token_hash=hash_api_token(token), created_at=self.clock())
            s.add(row)
            await s.flush()  # for its number
            record(s, row.created_at, by, AccountAction.TOKEN_CREATED, username, f"token=#{row.id} name={name!r}")
        return CreatedToken(token, username)

    async def authenticate_token(self, token: str) -> Actor | None:
        """The token's user, if the token is known, not revoked and its user active.

        Reading only: `last_used_at` is written at most once a `TOKEN_USE_PRECISION` per token.
        Written on every request, it made every GET a write transaction with its own fsync,
        queued behind intake for SQLite's one write lock (bench/case_list.py)."""
        async with self.db.reader() as s:
            row = (
                await s.execute(
                    select(ApiToken).where(ApiToken.token_hash == hash_api_token(token), ApiToken.revoked_at.is_(None))
                )
            ).scalar_one_or_none()
            if row is None:
                return None
            user = await s.get(User, row.user_id)
            if user is None or not user.active:
                return None
            actor = actor_for(user)
        now = self.clock()
        if row.last_used_at is None or now - row.last_used_at >= TOKEN_USE_PRECISION:
            async with self.db.unit_of_work() as s:
                await s.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
        return actor

    async def check_password(self, username: str, password: str) -> Actor | None:
        async with self.db.reader() as s:
            user = (await s.execute(select(User).where(User.username == username))).scalar_one_or_none()
        if user is None or not user.password_hash or not user.active:
            return None
        return actor_for(user) if await self.passwords.verify(user.password_hash, password) else None

    async def list(self) -> list[User]:
        async with self.db.reader() as s:
            return list((await s.execute(select(User).order_by(User.id))).scalars())

    # -- the admin's changes ---------------------------------------------------------------------
    async def set_active(self, username: str, active: bool, *, by: str) -> User:
        """Disable or enable an account. A disabled account's console sessions are deleted and
        its API tokens stop at the next request (`authenticate_token` and the console's
        `session` both check `active`), so a person who left cannot act another minute; its
        tokens are kept, not revoked, so enabling the account again restores them."""
        async with self.db.unit_of_work() as s:
            user = await _by_name(s, username, lock=True)
            if not active and Role.ADMIN in user.role_names:
                await _keep_an_admin(s, user.id)
            if user.active != active:
                action = AccountAction.ENABLED if active else AccountAction.DISABLED
                record(s, self.clock(), by, action, username)
            user.active = active
            if not active:
                await s.execute(delete(ConsoleSession).where(ConsoleSession.user_id == user.id))
        log.info("user %r %s", username, "enabled" if active else "disabled")
        return user

    async def change(self, username: str, *, roles: Sequence[str], department: str | None, by: str) -> User:
        """Set an account's roles and department (both replaced). The roles and department are
        read at every request, so the change holds from the person's next click. A department
        since deactivated may be kept, not newly given."""
        _check_roles(roles, department)
        async with self.db.unit_of_work() as s:
            user = await _by_name(s, username, lock=True)
            if Role.ADMIN in user.role_names and Role.ADMIN not in roles and user.active:
                await _keep_an_admin(s, user.id)
            before = (_roles_text(user.role_names), user.department.code if user.department else "-")
            user.department_id = await _department_id(s, department, keep=user.department_id)
            after = (_roles_text(roles), department or "-")
            if before != after:
                what = [
                    f"{name}={old} -> {new}"
                    for name, old, new in zip(("roles", "department"), before, after, strict=True)
                    if old != new
                ]
                record(s, self.clock(), by, AccountAction.ROLES_CHANGED, username, " ".join(what))
            wanted = set(dict.fromkeys(roles))
            user.roles = [r for r in user.roles if r.role in wanted] + [
                UserRole(role=Role(r)) for r in dict.fromkeys(roles) if r not in user.role_names
            ]
        log.info("user %r: roles %s, department %s", username, ",".join(roles) or "none", department or "none")
        async with self.db.reader() as s:
            return await _by_name(s, username)

    async def tokens(self) -> builtins.list[TokenInfo]:
        async with self.db.reader() as s:
            rows = await s.execute(
                select(ApiToken, User.username).join(User, User.id == ApiToken.user_id).order_by(ApiToken.id)
            )
            return [TokenInfo(t.id, name, t.name, t.created_at, t.last_used_at, t.revoked_at) for t, name in rows.all()]

    async def revoke_token(self, token_id: int, *, by: str) -> TokenInfo:
        """Revoke a token: it answers 401 from the next request on (revoking twice is harmless;
        the first time stands)."""
        async with self.db.unit_of_work() as s:
            row = (
                await s.execute(
                    select(ApiToken, User.username)
                    .join(User, User.id == ApiToken.user_id)
                    .where(ApiToken.id == token_id)
                    .with_for_update()
                )
            ).first()
            if row is None:
                raise NotFound(f"no API token #{token_id}", zh=f"API 令牌 #{token_id} 不存在")
            token, username = row
            if token.revoked_at is None:
                token.revoked_at = self.clock()
                record(
                    s,
                    token.revoked_at,
                    by,
                    AccountAction.TOKEN_REVOKED,
                    username,
                    f"token=#{token.id} name={token.name!r}",
                )
        log.info("API token #%s of %r revoked", token_id, username)
        return TokenInfo(token.id, username, token.name, token.created_at, token.last_used_at, token.revoked_at)


async def _by_name(s: AsyncSession, username: str, *, lock: bool = False) -> User:
    stmt = select(User).where(User.username == username)
    user = (await s.execute(stmt.with_for_update() if lock else stmt)).scalar_one_or_none()
    if user is None:
        raise NotFound(f"no user {username!r}", zh=f"用户 {username!r} 不存在")
    return user


def _check_roles(roles: Sequence[str], department: str | None) -> None:
    bad = [r for r in roles if r not in PERSON_ROLES]
    if bad:
        raise InvalidInput(
            f"unknown role {bad[0]!r}; one of: {', '.join(sorted(r.value for r in PERSON_ROLES))}",
            zh=f"未知的角色 {bad[0]!r}；可选：{', '.join(sorted(r.value for r in PERSON_ROLES))}",
        )
    if Role.DEPARTMENT in roles and not department:
        raise InvalidInput(
            "the role 'department' needs --department", zh="角色 department 需要指定 --department（部门）"
        )


def _roles_text(roles: Sequence[str] | frozenset[str]) -> str:
    return ",".join(sorted(set(roles))) or "-"


async def _department_id(s: AsyncSession, department: str | None, keep: int | None = None) -> int | None:
    """The id of an active department (or of `keep`, the account's own, even if deactivated)."""
    if not department:
        return None
    stmt = select(Department).where(Department.code == department).with_for_update(read=True)
    dept = (await s.execute(stmt)).scalar_one_or_none()
    if dept is None or not (dept.active or dept.id == keep):
        active = (await s.execute(select(Department.code).where(Department.active).order_by(Department.id))).scalars()
        what, what_zh = ("unknown", "未知的") if dept is None else ("deactivated", "已停用的")
        codes = ", ".join(active)
        raise InvalidInput(
            f"{what} department {department!r}; one of: {codes}", zh=f"{what_zh}部门 {department!r}；可选：{codes}"
        )
    return dept.id


async def _keep_an_admin(s: AsyncSession, leaving: int) -> None:
    """Refuse to take away the last active admin: nobody could undo it from the console."""
    others = await s.execute(
        select(func.count())
        .select_from(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(User.active.is_(True), User.id != leaving, UserRole.role == Role.ADMIN)
    )
    if int(others.scalar_one()) == 0:
        raise Conflict(
            "this is the last active admin; make another admin first",
            zh="这是最后一个启用的管理员账号；请先设置另一名管理员",
        )
