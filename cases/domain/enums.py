"""The closed vocabularies of the procedure, as string enums stored by value."""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    """How a customer reached us (procedure 6.3.1) or how we answer them."""

    EMAIL = "email"
    FAX = "fax"
    PHONE = "phone"
    LETTER = "letter"
    VISIT = "visit"
    SURVEY = "survey"
    TELEGRAM = "telegram"


class CaseType(StrEnum):
    """Service content of procedure 6.1.3 and 6.2.6."""

    QUALITY_COMPLAINT = "quality_complaint"  # 质量投诉
    WARRANTY_CLAIM = "warranty_claim"  # 三包索赔件
    ONSITE_SERVICE = "onsite_service"  # 现场服务
    TECHNICAL_CONSULTATION = "technical_consultation"  # 技术咨询
    DOCUMENT_REQUEST = "document_request"  # 使用/安装说明书
    QUALITY_RECORD_QUERY = "quality_record_query"  # 质量记录查询
    SUGGESTION = "suggestion"  # 意见建议


class Severity(StrEnum):
    """Scales the review team of procedure 6.3.3."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class FailureCategory(StrEnum):
    """What kind of failure the complaint is about; a table maps it to a severity (docs/quality.md)."""

    SAFETY = "safety"  # safety or regulatory
    FUNCTION = "function"
    FIT = "fit"
    APPEARANCE = "appearance"
    DOCUMENTATION = "documentation"


class CaseState(StrEnum):
    """States of the after-sale branch of the procedure's flow chart."""

    NEW = "new"  # feedback form filled in, waiting for approval
    NO_ACTION = "no_action"  # 不做处理, recorded and told to the customer (terminal)
    ASSIGNED = "assigned"  # approved and passed to the responsible department
    ANALYSED = "analysed"  # review team recorded cause analysis
    MEASURES_TAKEN = "measures_taken"  # corrective / preventive action recorded
    VERIFIED = "verified"  # Quality followed up and verified (6.3.5)
    AWAITING_SATISFACTION = "awaiting_satisfaction"  # Sales replied, asked 满意度确认 (6.3.6)
    CLOSED = "closed"  # terminal: rated, or no response after reminder


class Role(StrEnum):
    APPROVER = "approver"  # 总经理 / 管理者代表
    DEPARTMENT = "department"  # member of the responsible department
    QUALITY = "quality"
    SALES = "sales"
    ADMIN = "admin"
    SYSTEM = "system"  # timers and intake; never granted to a person


class Direction(StrEnum):
    IN = "in"
    OUT = "out"
    NOTE = "note"  # internal, never sent


class Speaker(StrEnum):
    """Who wrote an inbound message, decided once (cases/services/speakers.py)."""

    CUSTOMER = "customer"  # the case's contact, or a contact of the case's (known) customer
    STAFF = "staff"  # a staff account, or a reply to a staff notice: an internal note
    THIRD_PARTY = "third_party"  # anyone else: joins the case, flagged; rates, reopens, closes nothing


class Satisfaction(StrEnum):
    SATISFIED = "satisfied"  # 满意
    NEUTRAL = "neutral"  # 一般
    UNSATISFIED = "unsatisfied"  # 不满意
    NO_RESPONSE = "no_response"


class Language(StrEnum):
    ZH = "zh"
    EN = "en"
