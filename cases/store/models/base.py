"""Declarative base, naming convention and the portable column types."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Enum, Integer, MetaData
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, orm_insert_sentinel
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def clip(column: Any, value: str) -> str:
    """`value` cut to the length of a String column. PostgreSQL refuses a longer value (and
    with it the whole statement, the whole batch); SQLite would keep it. For values that only
    describe a row: a name, a content type, a label."""
    length: int | None = column.type.length
    return value[:length] if length is not None else value


def enum_column(enum_cls: type[StrEnum], length: int) -> Enum:
    """The column type of a closed vocabulary: the ORM reads and writes members of `enum_cls`,
    the database keeps their values in a VARCHAR(length), exactly as a String(length) column
    did (no native ENUM, no CHECK constraint: the schema and the stored values stay as they
    are). A string that is not one of the values is refused when it is written."""
    return Enum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=length,
        validate_strings=True,
        values_callable=lambda members: [m.value for m in members],
    )


# BIGINT primary keys on PostgreSQL; SQLite only auto-increments INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")
BIGID_MAX = 2**63 - 1  # the largest id either holds (SQLite's INTEGER is 64-bit too)
Json = JSON().with_variant(postgresql.JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC; SQLite keeps no zone, so we put UTC back on the way out."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        stored: datetime = value
        return stored.replace(tzinfo=UTC) if stored.tzinfo is None else stored.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: Json, list[Any]: Json}


class BatchInserted:
    """For tables that a batch fills with many rows at once (intake, fan-out).

    SQLite cannot promise the order of RETURNING rows, so without a sentinel SQLAlchemy
    inserts such rows one statement each to learn their keys; this nullable column lets it
    insert a whole batch in one multi-row statement and still match keys to objects
    (SQLAlchemy: "Configuring Sentinel Columns"). It holds no data of ours."""

    _sentinel: Mapped[int | None] = orm_insert_sentinel()
