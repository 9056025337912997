"""Staff accounts, roles and API tokens; departments seeded from the procedure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cases.domain.actors import Actor
from cases.domain.clock import Clock
from cases.domain.departments import DEPARTMENTS
from cases.domain.enums import Language, Role
from cases.domain.errors import Conflict, InvalidInput, NotFound
from cases.domain.tokens import hash_api_token, new_api_token
from cases.store.db import Database, hold_schema_lock
from cases.store.models import ApiToken, Department, User, UserRole

_hasher = PasswordHasher()  # argon2id with the library's current defaults
PERSON_ROLES = frozenset(Role) - {Role.SYSTEM}


@dataclass(frozen=True, slots=True)
class CreatedToken:
    token: str  # shown once; only its hash is stored
    username: str


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
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

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
    ) -> User:
        username = username.strip()
        if not username:
            raise InvalidInput("the username must not be empty")
        bad = [r for r in roles if r not in PERSON_ROLES]
        if bad:
            raise InvalidInput(f"unknown role {bad[0]!r}; one of: {', '.join(sorted(r.value for r in PERSON_ROLES))}")
        if Role.DEPARTMENT in roles and not department:
            raise InvalidInput("the role 'department' needs --department")
        if language not in tuple(Language):
            raise InvalidInput(f"unknown language {language!r}; one of: {', '.join(Language)}")
        async with self.db.unit_of_work() as s:
            if (await s.execute(select(User.id).where(User.username == username))).first():
                raise Conflict(f"user {username!r} exists already")
            dept_id = None
            if department:
                dept_id = (
                    await s.execute(select(Department.id).where(Department.code == department))
                ).scalar_one_or_none()
                if dept_id is None:
                    raise InvalidInput(
                        f"unknown department {department!r}; one of: {', '.join(d.code for d in DEPARTMENTS)}"
                    )
            user = User(
                username=username,
                display_name=display_name or username,
                email=email,
                password_hash=_hasher.hash(password) if password else None,
                language=Language(language),
                department_id=dept_id,
                created_at=self.clock(),
                roles=[UserRole(role=Role(r)) for r in dict.fromkeys(roles)],
            )
            s.add(user)
        return user

    async def create_token(self, username: str, name: str = "cli") -> CreatedToken:
        token = new_api_token()
        async with self.db.unit_of_work() as s:
            user = await _by_name(s, username)
            s.add(ApiToken(user_id=user.id, name=name, token_hash=hash_api_token(token), created_at=self.clock()))
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
        try:
            _hasher.verify(user.password_hash, password)
        except VerificationError:
            return None
        return actor_for(user)

    async def list(self) -> list[User]:
        async with self.db.reader() as s:
            return list((await s.execute(select(User).order_by(User.id))).scalars())


async def _by_name(s: AsyncSession, username: str) -> User:
    user = (await s.execute(select(User).where(User.username == username))).scalar_one_or_none()
    if user is None:
        raise NotFound(f"no user {username!r}")
    return user
