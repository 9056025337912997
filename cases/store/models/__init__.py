"""SQLAlchemy models; one module per concept, all on one metadata."""

from cases.store.models.archive import Contact, Customer, Identity
from cases.store.models.base import Base
from cases.store.models.case import Attachment, Blob, Case, CaseHistory, CaseMessage, CaseRating, ReferenceCounter
from cases.store.models.channels import ArchiveMerge, DocumentText, StaffEntry
from cases.store.models.eightd import CaseLink, EightDReport, EightDStep, FailureMode, ReviewTeamMember
from cases.store.models.field import FieldFailure, Shipment, WarningAlert, WarningAlertCase, WarningThreshold
from cases.store.models.imap import ImapCursor
from cases.store.models.inbound import InboundMessage, InboundRaw, InboundStatus
from cases.store.models.instance import Instance
from cases.store.models.outbox import Delivery, DeliveryStatus, OutboxEvent
from cases.store.models.quality import (
    AgreementTerm,
    CalendarDay,
    DueStep,
    QualityFile,
    ServiceReport,
    WarrantyPart,
)
from cases.store.models.records import Purge, RecordClass
from cases.store.models.reports import IssuedReport, ReportReminder
from cases.store.models.rules import RuleChange, RuleSetting
from cases.store.models.staff import (
    AccountEvent,
    ApiToken,
    ConsoleSession,
    Department,
    LoginFailure,
    SetupToken,
    User,
    UserRole,
)
from cases.store.models.telegram import (
    TelegramConversation,
    TelegramLinkToken,
    TelegramStaffChat,
    TelegramUpdate,
    UpdateStatus,
)

__all__ = [
    "ApiToken",
    "ArchiveMerge",
    "Attachment",
    "Base",
    "Blob",
    "Case",
    "CaseHistory",
    "CaseMessage",
    "CaseRating",
    "Contact",
    "Customer",
    "Delivery",
    "DeliveryStatus",
    "Department",
    "DocumentText",
    "Identity",
    "ImapCursor",
    "InboundMessage",
    "InboundRaw",
    "InboundStatus",
    "Instance",
    "IssuedReport",
    "OutboxEvent",
    "Purge",
    "RecordClass",
    "ReferenceCounter",
    "ReportReminder",
    "StaffEntry",
    "User",
    "UserRole",
]
__all__ += ["TelegramConversation", "TelegramLinkToken", "TelegramStaffChat", "TelegramUpdate", "UpdateStatus"]
__all__ += ["AgreementTerm", "CalendarDay", "DueStep", "QualityFile", "ServiceReport", "WarrantyPart"]
__all__ += ["CaseLink", "EightDReport", "EightDStep", "FailureMode", "ReviewTeamMember"]
__all__ += ["FieldFailure", "Shipment", "WarningAlert", "WarningAlertCase", "WarningThreshold"]
__all__ += ["AccountEvent", "ConsoleSession", "LoginFailure", "SetupToken"]
__all__ += ["RuleChange", "RuleSetting"]
