"""`kefu log phone|letter|visit|survey`: staff log an entry from the command line.

    kefu log phone --customer DFMC --caller "+86 27 8456 1234" --at "2026-11-30 14:05" \\
        --subject 刹车片异响 --text "客户来电：装车后异响" [--form-token T] [--user wang]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import mimetypes
from datetime import datetime
from pathlib import Path
from typing import Any

from cases.domain.errors import InvalidInput
from cases.domain.uploads import safe_filename
from cases.services.entries import ENTRY_KINDS, EntryInput
from kefu.cli.common import with_kefu


def add_log_commands(sub: Any) -> None:
    log = sub.add_parser("log", help="log a phone call, letter, visit or survey answer as a case")
    kinds = log.add_subparsers(dest="log_kind", required=True)
    for kind in ENTRY_KINDS:
        p = kinds.add_parser(kind.value, help=f"log a {kind.value} as a case")
        p.add_argument("--customer", help="customer id, code or name (a new name makes a new customer)")
        p.add_argument("--contact", type=int, help="the contact's id, when known")
        p.add_argument("--caller", help="the caller's number (normalised to E.164, China the default)")
        p.add_argument("--caller-name", default="", help="the caller's name")
        p.add_argument("--email", help="the caller's email address (attached to the contact)")
        p.add_argument(
            "--at", help="when it happened: 2026-11-30 14:05 (KEFU_TIMEZONE unless an offset is given); default now"
        )
        p.add_argument("--subject", default="")
        p.add_argument("--text", default="", help="what the customer said")
        p.add_argument("--type", help="case type, e.g. quality_complaint, warranty_claim")
        p.add_argument("--part-number")
        p.add_argument("--batch")
        p.add_argument("--quantity", type=int)
        p.add_argument("--reply-channel", help="how the customer wants the answer: email, phone, fax, letter, ...")
        p.add_argument("--language", choices=["zh", "en"])
        p.add_argument("--form-token", help="the same token twice makes one case")
        p.add_argument("--attachment", type=Path, help="a file to attach (a scanned letter)")
        p.add_argument("--user", help="the staff member who logs it (recorded on the case); default: cli")
        p.add_argument("--json", action="store_true")
        p.set_defaults(fn=cmd_log, kind=kind)


def _at(raw: str | None, tz: Any) -> datetime | None:
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise InvalidInput(
            f"--at must look like 2026-11-30 14:05, got {raw!r}", zh=f"--at 的格式须如 2026-11-30 14:05，实际为 {raw!r}"
        ) from None
    return value.replace(tzinfo=tz) if value.tzinfo is None else value


def cmd_log(args: argparse.Namespace) -> int:

    async def run(kefu: Any) -> None:
        from sqlalchemy import select

        from cases.domain.actors import Actor
        from cases.domain.enums import Role
        from cases.domain.intake_message import Attachment
        from cases.store.models import User

        actor = Actor(label="cli", roles=frozenset({Role.SALES}))
        if args.user:
            async with kefu.db.reader() as s:
                user = (await s.execute(select(User).where(User.username == args.user))).scalar_one_or_none()
            if user is None:
                raise InvalidInput(f"there is no staff account {args.user!r}", zh=f"没有员工账号 {args.user!r}")
            actor = Actor(label=user.username, roles=frozenset({Role.SALES}), user_id=user.id)
        attachments: tuple[Attachment, ...] = ()
        if args.attachment:
            ctype = mimetypes.guess_type(args.attachment.name)[0] or "application/octet-stream"
            attachments = (Attachment(safe_filename(args.attachment.name), ctype, args.attachment.read_bytes()),)
        result = await kefu.entries.log_entry(
            actor,
            EntryInput(
                kind=args.kind,
                at=_at(args.at, kefu.settings.tz) or kefu.clock(),
                subject=args.subject,
                description=args.text,
                customer=args.customer,
                contact_id=args.contact,
                caller_number=args.caller,
                caller_name=args.caller_name,
                caller_email=args.email,
                type=args.type,
                part_number=args.part_number,
                batch=args.batch,
                quantity=args.quantity,
                reply_channel=args.reply_channel,
                language=args.language,
                form_token=args.form_token,
                attachments=attachments,
            ),
        )
        if args.json:
            print(
                json.dumps(
                    {
                        "reference": result.reference,
                        "created": result.created,
                        "customer_id": result.customer_id,
                        "contact_id": result.contact_id,
                    }
                )
            )
        else:
            print(f"{result.reference} {'opened' if result.created else 'already logged with this form token'}")

    asyncio.run(with_kefu(run))
    return 0
