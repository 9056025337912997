"""What an attachment is, read from its bytes, beside what its sender declared (issue 13, item
14): a "PDF" that is an executable must be visible before anyone opens it.

The bytes are read by the `filetype` library (magic numbers, no native dependency). The
declared type and the type the file name's extension stands for must each be the sniffed type
or one of its usual aliases; a generic declared type (application/octet-stream) and a name
without a known extension say nothing, and bytes `filetype` does not know (plain text, CSV,
most XML) give no verdict."""

from __future__ import annotations

import mimetypes

import filetype

HEAD = 8192  # more than any matcher of filetype reads

# Spellings clients use for the same type.
_ALIASES: dict[str, frozenset[str]] = {
    "image/jpeg": frozenset({"image/jpg", "image/pjpeg"}),
    "image/png": frozenset({"image/x-png"}),
    "image/tiff": frozenset({"image/tif", "image/x-tiff"}),
    "application/zip": frozenset({"application/x-zip-compressed", "application/x-zip", "multipart/x-zip"}),
    "application/pdf": frozenset({"application/x-pdf"}),
    "application/x-rar-compressed": frozenset({"application/vnd.rar", "application/x-rar"}),
    "application/x-7z-compressed": frozenset(),
    "application/gzip": frozenset({"application/x-gzip"}),
    "audio/mpeg": frozenset({"audio/mp3"}),
}
# Office documents are ZIP or OLE files inside: filetype may see either.
_CONTAINERS: dict[str, frozenset[str]] = {
    "application/zip": frozenset(
        {
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            "application/vnd.oasis.opendocument.text",
            "application/vnd.oasis.opendocument.spreadsheet",
            "application/epub+zip",
            "application/java-archive",
        }
    ),
    "application/x-ole-storage": frozenset(
        {
            "application/msword",
            "application/vnd.ms-excel",
            "application/vnd.ms-powerpoint",
            "application/vnd.ms-outlook",
        }
    ),
}
_GENERIC = frozenset({"", "application/octet-stream", "application/unknown", "binary/octet-stream"})


def sniff(data: bytes) -> str | None:
    """The type the bytes say, or None when filetype does not know them."""
    kind = filetype.guess(data[:HEAD])
    return None if kind is None else str(kind.mime)


def _same(sniffed: str, claimed: str) -> bool:
    if claimed == sniffed or claimed in _ALIASES.get(sniffed, frozenset()):
        return True
    return claimed in _CONTAINERS.get(sniffed, frozenset())


def mismatch(declared: str, filename: str, sniffed: str | None) -> bool:
    """Whether the bytes disagree with the declared type (or, for a generic one, the name)."""
    if sniffed is None:
        return False
    claimed = declared.split(";", 1)[0].strip().lower()
    by_name = (mimetypes.guess_type(filename)[0] or "").lower()
    if claimed not in _GENERIC and not _same(sniffed, claimed):
        return True
    # "invoice.pdf" declared as what it really is (an executable) is still a disguise.
    return bool(by_name) and by_name not in _GENERIC and not _same(sniffed, by_name)
