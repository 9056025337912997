"""Record control (procedure section 8): how long each class of record is kept, and every purge
that removed personal data after that time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from cases.store.models.base import Base, BigId


class RecordClass(Base):
    """One class of record and its retention period, editable (`kefu records set`)."""

    __tablename__ = "record_classes"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    retention_days: Mapped[int]
    updated_by: Mapped[str] = mapped_column(String(120))
    updated_at: Mapped[datetime]


class Purge(Base):
    """One run of `kefu records purge` that changed something: who, when, and what it removed."""

    __tablename__ = "purges"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(120))
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)  # what -> how many
    references: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"cases": [FB-..., ...]}
