"""Zipped uploads checked before they are read: a list's XLSX, a registry's zip.

A zip names every member's unpacked size in its central directory (``ZipInfo.file_size``),
so a file that would unpack to more than a limit is refused from the directory alone,
without unpacking a byte (see docs/architecture.md#upload-limits). A header can lie;
``bounded_read`` stops reading a member past the limit whatever the header said, and
Python's own ``zipfile`` never hands out more of a member than the directory claims.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

MB = 1_000_000
# A real spreadsheet or text file packs about ten to one (a PropStream export saved as XLSX:
# 9.9 to 1); a member packing tighter than this is filler, not a list. Checked only on
# members large enough to matter, so a small, repetitive part (styles, a theme) passes.
MAX_RATIO = 100
RATIO_FROM_BYTES = 10 * MB


class UnzippedTooLarge(ValueError):
    """A zip that unpacks past its limit; the message says by how much, in MB, and what to do."""


def megabytes(size: int) -> str:
    return f"{max(size, 1) / MB:,.0f} MB" if size >= MB else f"{size / MB:.1f} MB"


def zip_check(source: Path | BinaryIO, *, total_limit: int, too_large: str, too_tight: str,
              member_limit: Callable[[str], int | None] | None = None) -> list[zipfile.ZipInfo]:
    """Read only the central directory of ``source`` and refuse a zip whose members unpack
    past ``total_limit`` together, or a member past its own ``member_limit(name)``
    (``too_large``, formatted with ``size`` and ``limit`` in MB), or a large member that
    packs tighter than ``MAX_RATIO`` to one (``too_tight``, with ``size`` and ``packed``).

    Returns the members (their directory entries), for the caller to read with
    ``bounded_read``. ``zipfile.BadZipFile`` is left to the caller, who knows what to call
    a damaged file.
    """
    with zipfile.ZipFile(source) as archive:
        members = [info for info in archive.infolist() if not info.is_dir()]
    total = sum(info.file_size for info in members)
    for info in members:
        limit = (member_limit(info.filename) if member_limit else None) or total_limit
        if info.file_size > limit:
            raise UnzippedTooLarge(too_large.format(size=megabytes(info.file_size), limit=megabytes(limit)))
        if info.file_size >= RATIO_FROM_BYTES and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise UnzippedTooLarge(too_tight.format(size=megabytes(info.file_size),
                                                    packed=megabytes(info.compress_size)))
    if total > total_limit:
        raise UnzippedTooLarge(too_large.format(size=megabytes(total), limit=megabytes(total_limit)))
    return members


def bounded_read(member: BinaryIO, *, limit: int, too_large: str, chunk: int = 1 << 20) -> Iterator[bytes]:
    """A member's bytes a chunk at a time, stopping with ``UnzippedTooLarge`` once more than
    ``limit`` came out: a header that claims less than the member holds is not believed."""
    done = 0
    while data := member.read(chunk):
        done += len(data)
        if done > limit:
            raise UnzippedTooLarge(too_large.format(size=f"more than {megabytes(limit)}", limit=megabytes(limit)))
        yield data
