"""What an uploaded document is, judged by its first bytes, never by its name or the
browser's claim: an .exe or an HTML page renamed .pdf is refused before it reaches the disk.

Used by the deal's document package, the agent's photo and the proofs of compliance
evidence, so every upload accepts the same kinds of file.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from django.conf import settings

# (first bytes, content type, extension we store it under)
SIGNATURES = (
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"II*\x00", "image/tiff", "tif"),
    (b"MM\x00*", "image/tiff", "tif"),
)
HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1", b"hevc", b"heif"}
# Types a browser may show inline from a download view; the others are downloaded.
INLINE_TYPES = frozenset({"application/pdf", "image/jpeg", "image/png"})


def sniff_document(head: bytes) -> tuple[str, str] | None:
    """(content type, extension) of a PDF or image we accept, from its first 16 bytes; None otherwise."""
    for magic, content_type, extension in SIGNATURES:
        if head.startswith(magic):
            return content_type, extension
    # A phone camera's HEIC: an ISO box "ftyp" at offset 4 with a HEIF brand.
    if head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS:
        return "image/heic", "heic"
    return None


def upload_store(content, *, folder: str) -> str:
    """Keep an upload (a list, a registry file) under MEDIA_ROOT, never served, under a
    name of our own; returns its path relative to MEDIA_ROOT. An uploaded file is copied
    chunk by chunk, so a large one never sits in the web worker's memory whole."""
    relative = f"{folder}/{uuid.uuid4().hex}.bin"
    path = Path(settings.MEDIA_ROOT) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        with path.open("wb") as out:
            for chunk in content.chunks():
                out.write(chunk)
    return relative
