"""The OpenAPI part of staff-logged entries and the customer archive (merged in by openapi.py)."""

from __future__ import annotations

from cases.domain.enums import CaseType, Channel
from cases.services.entries import ENTRY_KINDS
from kefu.web.api.openapi_blocks import (
    FILLED,
    ID,
    INT,
    OPT_STR,
    STR,
    TEXT,
    choice,
    json_doc,
    nullable,
    obj,
    operation,
    param,
    ref,
)
from kefu.web.api.support import MAX_QUANTITY

LANGUAGES = ["zh", "en"]
BASE64 = {
    "type": "string",
    "contentEncoding": "base64",
    "pattern": "^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$",
}

IDENTITY_KINDS = ["email", "phone", "fax", "telegram"]


def schemas() -> dict:  # type: ignore[type-arg]
    """Request bodies are closed (additionalProperties: false): the server refuses a field it does
    not know (support.no_other_fields), so a typo is not silently ignored."""

    channels = [c.value for c in Channel]
    identity = obj(
        {
            "kind": {"enum": IDENTITY_KINDS},
            "value": {
                **FILLED,
                "description": "phone and fax numbers are stored as E.164 "
                "(China the default region): 027-8456 1234 -> +862784561234",
            },
        },
        additionalProperties=False,
    )
    return {
        "EntryBody": obj(
            {
                "customer": {
                    "anyOf": [ID, TEXT, {"type": "null"}],
                    "description": "customer id (a number, or a text of digits), code or exact name (a new "
                    "name makes a new customer); omitted, null or empty: the caller's customer, else the "
                    "unassigned pool",
                },
                "contact": {**nullable(ID), "description": "the contact's id, when staff picked one"},
                "caller": {
                    "anyOf": [
                        TEXT,
                        obj(
                            {"number": nullable(TEXT), "name": nullable(TEXT), "email": nullable(TEXT)},
                            [],
                            additionalProperties=False,
                        ),
                        {"type": "null"},
                    ],
                    "description": "the caller's number (normalised), name and email",
                },
                "at": {
                    "anyOf": [{"type": "string", "format": "date-time"}, {"type": "string", "format": "date"}],
                    "type": ["string", "null"],
                    "description": "when the call / visit happened, ISO 8601 (2026-11-30T14:05:00+08:00; also "
                    "2026-11-30 14:05, without an offset: the company's time zone, KEFU_TIMEZONE); not in the "
                    "future; becomes the case's received time; omitted, null or empty: now",
                },
                "subject": nullable(TEXT),
                "description": {
                    **nullable(TEXT),
                    "description": "a subject or a description must say something (else 422)",
                },
                "type": choice([t.value for t in CaseType]),
                "part_number": nullable(TEXT),
                "batch": nullable(TEXT),
                "quantity": {"type": ["integer", "null"], "minimum": 0, "maximum": MAX_QUANTITY},
                "reply_channel": choice(channels),
                "language": choice(LANGUAGES),
                "form_token": {
                    **nullable(TEXT),
                    "maxLength": 120,
                    "description": "a token per form: submitting it twice makes one case",
                },
                "attachment": nullable(
                    obj(
                        {"filename": nullable(TEXT), "content_type": nullable(TEXT), "data": BASE64},
                        ["data"],
                        additionalProperties=False,
                    )
                ),
            },
            [],
            additionalProperties=False,
        ),
        "EntryResult": obj({"reference": STR, "created": {"type": "boolean"}, "customer_id": INT, "contact_id": INT}),
        "Identity": identity,
        "IdentityCleared": obj({"id": INT, "kind": STR, "value": STR, "bounced_at": {"type": "null"}}),
        "IdentityCreated": obj({"id": INT, "contact_id": INT, "kind": STR, "value": STR}),
        "Customer": obj({"id": INT, "name": STR, "code": OPT_STR, "language": STR, "unassigned": {"type": "boolean"}}),
        "CustomerDetail": {
            "allOf": [
                ref("Customer"),
                obj(
                    {
                        "case_count": INT,
                        "contacts": {
                            "type": "array",
                            "items": obj(
                                {
                                    "id": INT,
                                    "name": STR,
                                    "language": STR,
                                    "preferred_channel": STR,
                                    "identities": {
                                        "type": "array",
                                        "items": obj(
                                            {"id": INT, "kind": STR, "value": STR, "active": {"type": "boolean"}}
                                        ),
                                    },
                                }
                            ),
                        },
                    }
                ),
            ]
        },
        "CustomerList": obj({"items": {"type": "array", "items": ref("Customer")}}),
        "CustomerBody": obj(
            {"name": FILLED, "code": nullable(TEXT), "language": choice(LANGUAGES)},
            ["name"],
            additionalProperties=False,
        ),
        "ContactBody": obj(
            {
                "name": FILLED,
                "language": choice(LANGUAGES),
                "preferred_channel": choice(channels),
                "identities": nullable({"type": "array", "items": identity}),
            },
            ["name"],
            additionalProperties=False,
        ),
        "ContactPatch": obj(
            {
                "name": nullable(FILLED),
                "language": choice(LANGUAGES),
                "preferred_channel": nullable({"enum": channels}),
                "customer_id": {
                    **nullable(ID),
                    "description": "move the contact and its cases to "
                    "this customer (e.g. out of the unassigned pool); undo via /merges/{id}/undo",
                },
            },
            [],
            additionalProperties=False,
        ),
        "ContactRef": obj({"id": INT, "customer_id": INT, "move": ref("Merge")}, ["id"]),
        "MergeBody": obj(
            {"kind": {"enum": ["contact", "customer"]}, "source": ID, "target": ID}, additionalProperties=False
        ),
        "Merge": obj(
            {
                "id": INT,
                "kind": STR,
                "source_id": INT,
                "target_id": INT,
                "undone": {"type": "boolean"},
                "moved": {
                    "type": "object",
                    "additionalProperties": INT,
                    "description": "identities, contacts, cases -> how many moved",
                },
            }
        ),
    }


def paths() -> dict:  # type: ignore[type-arg]

    cid = param("customer_id", "path", ID, "the customer id")
    kid = param("contact_id", "path", ID, "the contact id")
    return {
        "/api/v1/entries/{kind}": {
            "post": operation(
                "log_entry",
                "Log a phone call, letter, visit or survey answer as a case",
                {
                    "201": json_doc(ref("EntryResult"), "A new case."),
                    "200": json_doc(ref("EntryResult"), "The form token was submitted before: that case."),
                },
                "400",
                "403",
                "409",
                "422",
                body=ref("EntryBody"),
                tag="entries",
                parameters=[param("kind", "path", {"enum": [k.value for k in ENTRY_KINDS]}, "what is logged")],
            )
        },
        "/api/v1/customers": {
            "post": operation(
                "create_customer",
                "Create a customer",
                {"201": json_doc(ref("CustomerDetail"), "Created.")},
                "400",
                "403",
                "409",
                "422",
                body=ref("CustomerBody"),
                tag="archive",
            ),
            "get": operation(
                "list_customers",
                "List customers",
                {"200": json_doc(ref("CustomerList"), "Customers.")},
                "400",
                "403",
                tag="archive",
                parameters=[param("q", "query", TEXT, "text in name or code")],
            ),
        },
        "/api/v1/customers/{customer_id}": {
            "get": operation(
                "get_customer",
                "A customer with contacts and identities",
                {"200": json_doc(ref("CustomerDetail"), "The customer.")},
                "400",
                "403",
                "404",
                parameters=[cid],
                tag="archive",
            )
        },
        "/api/v1/customers/{customer_id}/contacts": {
            "post": operation(
                "create_contact",
                "Add a contact (with identities) to a customer",
                {"201": json_doc(ref("ContactRef"), "Created.")},
                "400",
                "403",
                "404",
                "409",
                "422",
                parameters=[cid],
                body=ref("ContactBody"),
                tag="archive",
            )
        },
        "/api/v1/contacts/{contact_id}": {
            "patch": operation(
                "update_contact",
                "Change a contact's name, language or preferred reply channel (open cases follow)",
                {"200": json_doc(ref("ContactRef"), "Changed.")},
                "400",
                "403",
                "404",
                "422",
                parameters=[kid],
                body=ref("ContactPatch"),
                tag="archive",
            )
        },
        "/api/v1/contacts/{contact_id}/identities": {
            "post": operation(
                "add_identity",
                "Attach an email, phone, fax or Telegram identity to a contact",
                {"201": json_doc(ref("IdentityCreated"), "Attached (or already there).")},
                "400",
                "403",
                "404",
                "409",
                "422",
                parameters=[kid],
                body=ref("Identity"),
                tag="archive",
            )
        },
        "/api/v1/identities/{identity_id}/clear-bounce": {
            "post": operation(
                "clear_bounce",
                "Clear the bounce mark of an address (a wrong match, or the mailbox works again): "
                "customer notices go to it again",
                {"200": json_doc(ref("IdentityCleared"), "Cleared (or was not marked).")},
                "400",
                "403",
                "404",
                parameters=[param("identity_id", "path", ID, "the identity id (bounced_addresses of a case)")],
                tag="archive",
            )
        },
        "/api/v1/merges": {
            "post": operation(
                "merge",
                "Merge two contacts or two customers (recorded, reversible)",
                {"201": json_doc(ref("Merge"), "Merged.")},
                "400",
                "403",
                "404",
                "422",
                body=ref("MergeBody"),
                tag="archive",
            )
        },
        "/api/v1/merges/{merge_id}/undo": {
            "post": operation(
                "unmerge",
                "Undo a merge: move back what it moved",
                {"200": json_doc(ref("Merge"), "Undone.")},
                "400",
                "403",
                "404",
                "409",
                parameters=[param("merge_id", "path", ID, "the merge id")],
                tag="archive",
            )
        },
    }
