"""The OpenAPI part of the Telegram deep-link routes (merged in by openapi.py)."""

from __future__ import annotations

from kefu.web.api.openapi_blocks import ID, INT, TIME, Doc, json_doc, obj, operation, param, ref


def schemas() -> Doc:

    return {
        "TelegramLink": obj(
            {
                "url": {
                    "type": "string",
                    "description": "https://t.me/<bot>?start=<token>: open it in Telegram; works once, for 7 days",
                },
                "single_use": {"type": "boolean", "const": True},
            }
        ),
        "FailedUpdate": obj(
            {
                "update_id": INT,
                "chat_id": {"type": ["integer", "null"]},
                "received_at": TIME,
                "attempts": INT,
                "error": {"type": ["string", "null"]},
            }
        ),
        "FailedUpdateList": obj({"items": {"type": "array", "items": ref("FailedUpdate")}, "total": INT}),
    }


def paths(paging: list[Doc]) -> Doc:

    created = {"201": json_doc(ref("TelegramLink"), "A new single-use deep link.")}
    return {
        "/api/v1/contacts/{contact_id}/telegram-link": {
            "post": operation(
                "contact_telegram_link",
                "A deep link that binds a customer's Telegram chat to this contact",
                created,
                "400",
                "403",
                "404",
                "409",
                parameters=[param("contact_id", "path", ID, "the contact id")],
                tag="telegram",
            )
        },
        "/api/v1/telegram/failed-updates": {
            "get": operation(
                "list_failed_updates",
                "Telegram updates kept as failed (a handler failed three times, or the database refused to store one)",
                {"200": json_doc(ref("FailedUpdateList"), "One page of failed updates, newest first.")},
                "400",
                "403",
                parameters=paging,
                tag="telegram",
            )
        },
        "/api/v1/telegram/failed-updates/{update_id}/rerun": {
            "post": operation(
                "rerun_update",
                "Handle a failed Telegram update again (after a fix)",
                {"202": json_doc(ref("Rerun"), "Queued; the bot handles it shortly.")},
                "400",
                "403",
                "404",
                "409",
                parameters=[param("update_id", "path", ID, "the Telegram update id")],
                tag="telegram",
            )
        },
        "/api/v1/me/telegram-link": {
            "post": operation(
                "my_telegram_link",
                "A deep link that binds the caller's own Telegram chat to their account "
                "(push notices, approval buttons)",
                created,
                "400",
                "409",
                tag="telegram",
            )
        },
    }
