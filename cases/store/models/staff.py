"""Staff: departments of the procedure, user accounts, their roles and API tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cases.domain.account_events import AccountAction
from cases.domain.enums import Language, Role
from cases.store.models.base import Base, BigId, enum_column


class Department(Base):
    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_zh: Mapped[str] = mapped_column(String(80))
    name_en: Mapped[str] = mapped_column(String(80))
    # A deactivated department is offered nowhere new (assignment, accounts); its cases keep it.
    active: Mapped[bool] = mapped_column(default=True, server_default=true())


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(254))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[Language] = mapped_column(enum_column(Language, 8), default=Language.ZH)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]

    roles: Mapped[list[UserRole]] = relationship(lazy="selectin", cascade="all, delete-orphan", back_populates="user")
    department: Mapped[Department | None] = relationship(lazy="selectin")

    @property
    def role_names(self) -> frozenset[str]:
        return frozenset(r.role for r in self.roles)


class UserRole(Base):
    __tablename__ = "user_roles"
    __table_args__ = (UniqueConstraint("user_id", "role"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[Role] = mapped_column(enum_column(Role, 20))
    user: Mapped[User] = relationship(back_populates="roles", lazy="raise")


class ApiToken(Base):
    """Bearer tokens; only a SHA-256 of the token is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class ConsoleSession(Base):
    """A signed-in console session, in the database so that several web processes share it.
    Only a SHA-256 of the cookie's value is stored, like API tokens."""

    __tablename__ = "console_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


class LoginFailure(Base):
    """One failed console sign-in, counted per account and per client address in a window."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_kind_key_at", "kind", "key", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # "account" or "address"
    key: Mapped[str] = mapped_column(String(120))
    at: Mapped[datetime]


class SetupToken(Base):
    """A one-time link to set a password (a new account, or one an admin reset); hashed."""

    __tablename__ = "setup_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class AccountEvent(Base):
    """One change to a staff account or one of its API tokens: who did it, when, to whom, what.
    Written by the service functions (cases/services/users.py, sessions.py) in the change's own
    transaction, so the console and the CLI cannot change an account without a trace. Never a
    secret: no password, hash, token or set-up link, only what was done."""

    __tablename__ = "account_events"
    __table_args__ = (Index("ix_account_events_username_id", "username", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(120))  # a username, or "cli:<login>" at the server's shell
    action: Mapped[AccountAction] = mapped_column(enum_column(AccountAction, 30))
    username: Mapped[str] = mapped_column(String(80))  # the account changed
    detail: Mapped[str] = mapped_column(String(500), default="")
