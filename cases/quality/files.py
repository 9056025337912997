"""Files staff upload to a quality record (test evidence, a signed scan): the bytes once per
hash in the blobs table, the file row beside the record."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from cases.domain.actors import Actor
from cases.domain.errors import InvalidInput
from cases.domain.intake_message import Attachment
from cases.domain.uploads import MAX_ATTACHMENT_BYTES, safe_filename
from cases.store.models import Blob, QualityFile
from cases.store.upsert import insert_ignore


async def store_file(
    s: AsyncSession,
    actor: Actor,
    case_id: int,
    upload: Attachment,
    purpose: str,
    now: datetime,
    *,
    warranty_part_id: int | None = None,
    service_report_id: int | None = None,
) -> QualityFile:
    if not upload.data:
        raise InvalidInput("the file is empty", zh="文件为空")
    if len(upload.data) > MAX_ATTACHMENT_BYTES:
        raise InvalidInput(
            f"the file is larger than {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB",
            zh=f"文件超过 {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB",
        )
    digest = hashlib.sha256(upload.data).hexdigest()
    # Before the file row (an ORM insert): its foreign key needs the blob on PostgreSQL.
    await insert_ignore(s, Blob, {"sha256": digest, "size": len(upload.data), "data": upload.data}, ["sha256"])
    row = QualityFile(
        case_id=case_id,
        warranty_part_id=warranty_part_id,
        service_report_id=service_report_id,
        purpose=purpose,
        filename=safe_filename(upload.filename),
        content_type=(upload.content_type or "application/octet-stream")[:120],
        size=len(upload.data),
        sha256=digest,
        uploaded_by=actor.label[:120],
        uploaded_at=now,
    )
    s.add(row)
    await s.flush()
    return row


def file_row(f: QualityFile, reference: str) -> dict[str, object]:
    return {
        "id": f.id,
        "purpose": f.purpose,
        "filename": f.filename,
        "content_type": f.content_type,
        "size": f.size,
        "uploaded_by": f.uploaded_by,
        "uploaded_at": f.uploaded_at.isoformat().replace("+00:00", "Z"),
        "url": f"/api/v1/cases/{reference}/quality-files/{f.id}",
    }
