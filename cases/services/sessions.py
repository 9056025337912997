"""Console sign-in: passwords, sessions kept in the database, throttled failures, set-up links.

A session's cookie value is a random token; only its SHA-256 is stored (like API tokens), so
a copy of the database signs nobody in. Each sign-in makes a new session (a fresh id: a
session fixed before sign-in is worth nothing), with its own CSRF token for the forms.

Failed sign-ins are counted per account and per client address over a sliding window
(KEFU_LOGIN_FAILURES_PER_ACCOUNT / _PER_ADDRESS, KEFU_LOGIN_WINDOW_MINUTES). While either
count is at its limit the password is not even checked: a guesser learns nothing more, and
argon2 is not spent on them.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cases.domain.account_events import AccountAction
from cases.domain.actors import Actor
from cases.domain.clock import Clock
from cases.domain.enums import Language
from cases.domain.errors import InvalidInput, NotFound
from cases.services.account_trail import record
from cases.services.passwords import Passwords
from cases.services.users import actor_for
from cases.settings import Settings
from cases.store.db import Database
from cases.store.models import ConsoleSession, LoginFailure, SetupToken, User

log = logging.getLogger(__name__)

MIN_PASSWORD = 10
SETUP_LINK_HOURS = 72


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Outcome(StrEnum):
    SIGNED_IN = "signed_in"
    WRONG = "wrong"  # unknown user, wrong password or disabled account: one answer for all
    THROTTLED = "throttled"


@dataclass(frozen=True, slots=True)
class SignIn:
    outcome: Outcome
    token: str | None = None  # the cookie's value, when signed in
    retry_minutes: int = 0  # when throttled


@dataclass(frozen=True, slots=True)
class Session:
    """Who is signed in on a request, and the CSRF token their forms carry."""

    actor: Actor
    username: str
    display_name: str
    language: Language
    csrf_token: str
    token_hash: str


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(
            f"the new password must have at least {MIN_PASSWORD} characters", zh=f"新密码至少须有 {MIN_PASSWORD} 个字符"
        )


class ConsoleAuth:
    def __init__(self, db: Database, clock: Clock, settings: Settings, passwords: Passwords) -> None:
        self.db = db
        self.clock = clock
        self.passwords = passwords
        self.hours = settings.console_session_hours
        self.per_account = settings.login_failures_per_account
        self.per_address = settings.login_failures_per_address
        self.window = timedelta(minutes=settings.login_window_minutes)

    # -- sign-in -------------------------------------------------------------------------------
    async def sign_in(self, username: str, password: str, address: str) -> SignIn:
        """Check the password outside any transaction (argon2 takes a tenth of a second, which a
        write transaction would hold SQLite's lock for), then record the failure or the session."""
        username = username.strip()
        now = self.clock()
        since = now - self.window
        async with self.db.reader() as s:
            if await self._throttled(s, username, address, since):
                log.warning("console sign-in throttled for account %r from %s", username, address)
                return SignIn(Outcome.THROTTLED, retry_minutes=max(1, round(self.window.total_seconds() / 60)))
            user = (await s.execute(select(User).where(User.username == username))).scalar_one_or_none()
        stored = user.password_hash if user is not None else None
        if user is None or not await self.passwords.verify(stored, password):
            async with self.db.unit_of_work() as s:
                s.add(LoginFailure(kind="account", key=username[:120], at=now))
                s.add(LoginFailure(kind="address", key=address[:120], at=now))
            log.info("console sign-in failed for account %r from %s", username, address)
            return SignIn(Outcome.WRONG)
        if not user.active:
            return SignIn(Outcome.WRONG)
        rehashed = await self.passwords.hash(password) if stored and self.passwords.needs_rehash(stored) else None
        async with self.db.unit_of_work() as s:
            if rehashed:  # the settings' cost changed since the password was set
                await s.execute(
                    update(User).where(User.id == user.id, User.password_hash == stored).values(password_hash=rehashed)
                )
            await s.execute(delete(LoginFailure).where(LoginFailure.kind == "account", LoginFailure.key == username))
            await s.execute(delete(LoginFailure).where(LoginFailure.at < since))  # old rows go as we pass
            await s.execute(delete(ConsoleSession).where(ConsoleSession.expires_at < now))
            token = self._new_session(s, user.id)
        log.info("console sign-in of %r from %s", username, address)
        return SignIn(Outcome.SIGNED_IN, token=token)

    async def _throttled(self, s: AsyncSession, username: str, address: str, since: datetime) -> bool:
        async def count(kind: str, key: str) -> int:
            stmt = select(func.count()).where(
                LoginFailure.kind == kind, LoginFailure.key == key[:120], LoginFailure.at >= since
            )
            return int((await s.execute(stmt)).scalar_one())

        return await count("account", username) >= self.per_account or await count("address", address) >= (
            self.per_address
        )

    def _new_session(self, s: AsyncSession, user_id: int) -> str:
        token = secrets.token_urlsafe(32)
        now = self.clock()
        s.add(
            ConsoleSession(
                token_hash=_digest(token),
                user_id=user_id,
                csrf_token=secrets.token_urlsafe(32),
                created_at=now,
                expires_at=now + timedelta(hours=self.hours),
            )
        )
        return token

    async def session(self, token: str) -> Session | None:
        if not token:
            return None
        async with self.db.reader() as s:
            row = (
                await s.execute(
                    select(ConsoleSession, User)
                    .join(User, User.id == ConsoleSession.user_id)
                    .where(ConsoleSession.token_hash == _digest(token))
                )
            ).first()
        if row is None:
            return None
        sess, user = row
        if sess.expires_at <= self.clock() or not user.active:
            return None
        return Session(
            actor_for(user), user.username, user.display_name, user.language, sess.csrf_token, sess.token_hash
        )

    async def sign_out(self, session: Session) -> None:
        async with self.db.unit_of_work() as s:
            await s.execute(delete(ConsoleSession).where(ConsoleSession.token_hash == session.token_hash))

    # -- passwords -----------------------------------------------------------------------------
    async def change_password(self, session: Session, current: str, new: str) -> str:
        """Check the current password, set the new one, end every session of the account and
        return a new one for this browser (a stolen session does not survive the change)."""
        check_new_password(new)
        async with self.db.reader() as s:
            user = await s.get(User, session.actor.user_id)
        if user is None or not await self.passwords.verify(user.password_hash, current):
            raise InvalidInput("the current password is not right", zh="当前密码不正确")
        new_hash = await self.passwords.hash(new)
        async with self.db.unit_of_work() as s:
            user = await s.get(User, session.actor.user_id)
            if user is None:
                raise NotFound("this account is gone", zh="此账户已不存在")
            user.password_hash = new_hash
            await s.execute(delete(ConsoleSession).where(ConsoleSession.user_id == user.id))
            token = self._new_session(s, user.id)
            record(s, self.clock(), session.username, AccountAction.PASSWORD_CHANGED, user.username)
        log.info("console password changed by %r", session.username)
        return token

    async def set_password(self, username: str, password: str, *, by: str) -> None:
        """For the CLI's prompt: set a password and end the account's sessions."""
        check_new_password(password)
        new_hash = await self.passwords.hash(password)
        async with self.db.unit_of_work() as s:
            user = await _user(s, username)
            user.password_hash = new_hash
            record(s, self.clock(), by, AccountAction.PASSWORD_RESET, username, "via=prompt")
            await s.execute(delete(ConsoleSession).where(ConsoleSession.user_id == user.id))

    async def reset(self, username: str, *, by: str) -> str:
        """An admin's reset: the password stops working at once, every session ends, and a
        one-time set-up link token (valid SETUP_LINK_HOURS) is returned to hand to the person."""
        now = self.clock()
        token = secrets.token_urlsafe(32)
        async with self.db.unit_of_work() as s:
            user = await _user(s, username)
            user.password_hash = None
            await s.execute(delete(ConsoleSession).where(ConsoleSession.user_id == user.id))
            await s.execute(delete(SetupToken).where(SetupToken.user_id == user.id))
            s.add(
                SetupToken(
                    token_hash=_digest(token),
                    user_id=user.id,
                    created_at=now,
                    expires_at=now + timedelta(hours=SETUP_LINK_HOURS),
                )
            )
            record(s, now, by, AccountAction.PASSWORD_RESET, username, "via=setup_link")
        log.info("console password of %r reset; a set-up link was made", username)
        return token

    async def setup_user(self, token: str) -> str | None:
        """The username a set-up link is for, while it is valid."""
        async with self.db.reader() as s:
            row = (await _setup_row(s, token, self.clock())) if token else None
            return row[1].username if row else None

    async def use_setup(self, token: str, password: str) -> str:
        """Set the password from a set-up link (once) and sign in: returns a session token."""
        check_new_password(password)
        now = self.clock()
        new_hash = await self.passwords.hash(password)
        async with self.db.unit_of_work() as s:
            row = await _setup_row(s, token, now)
            if row is None:
                raise NotFound(
                    "this set-up link is unknown, used or expired; ask an admin for a new one",
                    zh="此设置链接无效、已使用或已过期，请联系管理员获取新链接",
                )
            setup, user = row
            setup.used_at = now
            user.password_hash = new_hash
            record(s, now, user.username, AccountAction.PASSWORD_SET, user.username, "via=setup_link")
            return self._new_session(s, user.id)

    async def set_language(self, session: Session, language: str) -> None:
        if language not in tuple(Language):
            raise InvalidInput(f"unknown language {language!r}", zh=f"未知的语言 {language!r}")
        async with self.db.unit_of_work() as s:
            user = await s.get(User, session.actor.user_id)
            if user is not None:
                user.language = Language(language)


async def _user(s: AsyncSession, username: str) -> User:
    user = (await s.execute(select(User).where(User.username == username))).scalar_one_or_none()
    if user is None:
        raise NotFound(f"no user {username!r}", zh=f"用户 {username!r} 不存在")
    return user


async def _setup_row(s: AsyncSession, token: str, now: datetime) -> tuple[SetupToken, User] | None:
    row = (
        await s.execute(
            select(SetupToken, User)
            .join(User, User.id == SetupToken.user_id)
            .where(SetupToken.token_hash == _digest(token), SetupToken.used_at.is_(None), SetupToken.expires_at > now)
        )
    ).first()
    return (row[0], row[1]) if row else None
