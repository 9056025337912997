"""The rule tables an admin changed (cases/rules/): one row a changed key, and every change and
refused attempt in the history, with who, when, old and new value."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from cases.store.models.base import Base, BigId


class RuleSetting(Base):
    """A key of a rule table set by a person; a key without a row has the table's default."""

    __tablename__ = "rule_settings"

    rule_table: Mapped[str] = mapped_column(String(40), primary_key=True)
    rule_key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(String(60))
    changed_by: Mapped[str] = mapped_column(String(120))
    changed_at: Mapped[datetime]


class RuleChange(Base):
    """One change of a rule table, or one refused attempt (outcome "refused", with why)."""

    __tablename__ = "rule_changes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    rule_table: Mapped[str] = mapped_column(String(40), index=True)
    rule_key: Mapped[str] = mapped_column(String(60))
    old_value: Mapped[str | None] = mapped_column(String(60))
    new_value: Mapped[str] = mapped_column(String(60))
    outcome: Mapped[str] = mapped_column(String(20))  # changed / refused
    note: Mapped[str | None] = mapped_column(String(500))
    changed_by: Mapped[str] = mapped_column(String(120))
    changed_at: Mapped[datetime]
