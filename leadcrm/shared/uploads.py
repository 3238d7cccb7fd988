"""Uploads kept through Django's storage API, never by path: the machine's disk by default,
an S3-compatible object store when configured (docs/operations.md#uploads-on-object-storage),
so every web and worker machine reads the same files.

What an uploaded document is, judged by its first bytes, never by its name or the
browser's claim: an .exe or an HTML page renamed .pdf is refused before it is stored.
Used by the deal's document package, the agent's photo and the proofs of compliance
evidence, so every upload accepts the same kinds of file.

A reader (the list import, the CRM move, the registry load) takes a *source*: a path, an
upload not yet stored (``Upload``: the content checks run on it before anything is kept)
or a stored one (``Stored``). Each ``open_binary(source)`` is a fresh, seekable handle at
its start, as opening a path again would be.
"""

from __future__ import annotations

import io
import os
import tempfile
import uuid
from typing import BinaryIO
from urllib.parse import quote

from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, default_storage
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect

MISSING = "The file is missing from storage."
# A stored object copied to the worker is held in memory up to this size, then on its disk.
SPOOL_BYTES = 8 * 1024 * 1024
ZIP_MAGIC = b"PK\x03\x04"

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


def upload_store(content, *, folder: str, extension: str = "bin", storage: Storage | None = None) -> str:
    """Keep an upload (a list, a registry file, a document) in the storage, never served
    directly, under a name of our own; returns the name. An uploaded file is copied chunk
    by chunk, so a large one never sits in the web worker's memory whole."""
    storage = storage or default_storage
    if isinstance(content, bytes):
        content = ContentFile(content)
    elif not isinstance(content, File):
        content = File(content)
    return storage.save(f"{folder}/{uuid.uuid4().hex}.{extension}", content)


def stored_delete(name: str, *, storage: Storage | None = None) -> None:
    """Remove a stored upload; one already gone is no fault."""
    if name:
        (storage or default_storage).delete(name)


def stored_exists(name: str, *, storage: Storage | None = None) -> bool:
    return bool(name) and (storage or default_storage).exists(name)


class _Kept:
    """A handle whose ``close`` leaves the file open: the source is read again from its start."""

    def __init__(self, handle):
        self._handle = handle

    def __getattr__(self, attr):
        return getattr(self._handle, attr)

    def __iter__(self):
        return iter(self._handle)

    def close(self) -> None:
        pass

    @property
    def closed(self) -> bool:
        return False

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass


class Upload:
    """An upload not yet stored (bytes or Django's uploaded file), read by the checks first."""

    def __init__(self, content):
        self._handle = io.BytesIO(content) if isinstance(content, bytes) else getattr(content, "file", content)

    def open(self) -> BinaryIO:
        self._handle.seek(0)
        return _Kept(self._handle)


class Stored:
    """An upload kept in a storage, read by its name on whichever machine runs the work.

    On the local disk each ``open`` opens the file again. From an object store the object is
    fetched once per ``Stored`` (held in memory up to ``SPOOL_BYTES``, then in a temporary
    file) and every ``open`` reads that copy from its start: a reader that looks at the head,
    then the header, then the rows does not fetch it three times."""

    def __init__(self, name: str, storage: Storage | None = None, *, head_bytes: int | None = None):
        self.name = name
        self.storage = storage or default_storage
        # A page that previews a few rows needs the object's start, not all of it; a zip
        # (an XLSX) keeps its directory at the end, so it is fetched whole all the same.
        self.head_bytes = head_bytes
        self._copy = None

    def _is_local(self) -> bool:
        try:
            self.storage.path(self.name)
        except NotImplementedError:
            return False
        return True

    def exists(self) -> bool:
        return stored_exists(self.name, storage=self.storage)

    def open(self) -> BinaryIO:
        if self._is_local():
            return self.storage.open(self.name, "rb").file
        if self._copy is None:
            self._copy = self._fetch()
        self._copy.seek(0)
        return _Kept(self._copy)

    def _fetch(self):
        copy = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
        with self.storage.open(self.name, "rb") as remote:
            obj = getattr(remote, "obj", None)  # django-storages' S3 object: it can fetch a range
            if self.head_bytes and obj is not None:
                head = obj.get(Range=f"bytes=0-{self.head_bytes - 1}")["Body"].read()
                if not head.startswith(ZIP_MAGIC):
                    copy.write(head)
                    return copy
            for chunk in remote.chunks():
                copy.write(chunk)
        return copy

    def read_bytes(self) -> bytes:
        with self.storage.open(self.name, "rb") as handle:
            return b"".join(handle.chunks())


def open_binary(source) -> BinaryIO:
    """A handle at the start of ``source``: a path, an ``Upload`` or a ``Stored``."""
    if isinstance(source, (str, os.PathLike)):
        return open(source, "rb")  # noqa: SIM115 - the caller closes it
    return source.open()


def _signs_urls(storage: Storage) -> bool:
    """An object store that hands out short-lived signed addresses (django-storages' S3)."""
    return bool(getattr(storage, "querystring_auth", False)) and hasattr(storage, "bucket_name")


def stored_response(name: str, *, content_type: str, filename: str | None = None, as_attachment: bool = False,
                    cache_control: str = "private, no-store", storage: Storage | None = None,
                    same_origin: bool = False) -> HttpResponse:
    """The stored file for a request the caller has already allowed (its permission checked).

    From an object store: a redirect to a signed address valid ``querystring_expire``
    seconds (docs/operations.md#uploads-on-object-storage), telling the store the type and
    whether to download it; the redirect itself is never cached. From the local disk: the
    file streamed, as always. A file gone from the storage is a 404.

    ``same_origin``: streamed through this response even from an object store, for an
    image a page shows inline (the agent's photo): the Content-Security-Policy lets
    images come only from our own origin, so a redirect to the bucket would show nothing."""
    storage = storage or default_storage
    if _signs_urls(storage):
        if not storage.exists(name):
            raise Http404(MISSING)
    if _signs_urls(storage) and not same_origin:
        disposition = "attachment" if as_attachment else "inline"
        if filename:
            disposition += f"; filename*=UTF-8''{quote(filename, safe='')}"
        url = storage.url(name, parameters={"ResponseContentType": content_type,
                                            "ResponseContentDisposition": disposition,
                                            "ResponseCacheControl": cache_control})
        response = HttpResponseRedirect(url)
        response["Cache-Control"] = "private, no-store"
        response["Referrer-Policy"] = "no-referrer"
        return response
    try:
        handle = storage.open(name, "rb")
    except FileNotFoundError:
        raise Http404(MISSING) from None
    response = FileResponse(handle, content_type=content_type, as_attachment=as_attachment, filename=filename or "")
    response["Cache-Control"] = cache_control
    return response
