"""SQLAlchemy models; one module per concept, all on one metadata."""

from cases.models.archive import Contact, Customer, Identity
from cases.models.base import Base
from cases.models.case import Attachment, Blob, Case, CaseHistory, CaseMessage, ReferenceCounter
from cases.models.channels import ArchiveMerge, DocumentText, StaffEntry
from cases.models.imap import ImapCursor
from cases.models.inbound import InboundMessage, InboundRaw, InboundStatus
from cases.models.outbox import Delivery, DeliveryStatus, OutboxEvent
from cases.models.staff import ApiToken, Department, User, UserRole
from cases.models.telegram import (
    TelegramConversation, TelegramLinkToken, TelegramStaffChat, TelegramUpdate, UpdateStatus,
)

__all__ = [
    "ApiToken", "Attachment", "Base", "Blob", "Case", "CaseHistory", "CaseMessage", "Contact",
    "Customer", "Delivery", "DeliveryStatus", "Department", "Identity", "InboundMessage", "InboundRaw",
    "ImapCursor", "InboundStatus", "OutboxEvent", "ReferenceCounter", "User", "UserRole",
    "ArchiveMerge", "DocumentText", "StaffEntry",
]
__all__ += ["TelegramConversation", "TelegramLinkToken", "TelegramStaffChat", "TelegramUpdate", "UpdateStatus"]
