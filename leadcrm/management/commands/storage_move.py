"""Copy every upload the database names from the old local folder into the configured
storage (an S3 bucket, usually), and prove each copy by reading it back.

    python manage.py storage_move --from-local /var/lib/leadcrm/media [--dry-run]

The files are found from the rows that name them: every model's ``stored_file`` and every
``FileField`` (documents, proofs, the agent's photo, list and CRM imports, registry files,
exports). Each is copied under the same name, then read back from the storage and checked
by size and SHA-256 against the local file, and against the digest the row recorded when it
has one (a deal's documents). Files no row names are found by their folder: the evidence
tables' monthly exports and their JSON manifests (``leadcrm.shared.partitions.EXPORT_DIR``),
each export held to the SHA-256 its manifest recorded. A name that is absolute or climbs
out of the folder (``..``, or a link that leads outside) is refused and reported, never
read. A file already in the storage with the same bytes is left as
it is, so the command can run again after a failure and only finishes the rest. Missing or
mismatched files are named, and the command exits non-zero (docs/operations.md#uploads-on-object-storage).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from django.apps import apps
from django.core.files import File
from django.core.files.storage import Storage, default_storage
from django.core.management.base import BaseCommand, CommandError
from django.db import models

from leadcrm.shared.partitions import EXPORT_DIR

CHUNK = 1 << 20
# Folders of the storage whose files no row names, moved whole (docs/database.md#partitions).
UNNAMED_FOLDERS = (EXPORT_DIR,)
MANIFEST_SUFFIX = ".json"
FAILED = "{count} file(s) missing or not copied whole: {names}"


@dataclass(frozen=True)
class Reference:
    """One file a row names: the name in the storage, and what the row recorded of it."""

    name: str
    owner: str  # "pipeline.documentupload 12"
    sha256: str = ""


@dataclass
class Outcome:
    copied: list[str] = field(default_factory=list)
    verified: list[str] = field(default_factory=list)  # already there, same bytes
    missing: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # absolute, or outside the folder

    @property
    def failed(self) -> list[str]:
        return self.missing + self.mismatched + self.refused


def _file_fields(model) -> list[str]:
    return [f.name for f in model._meta.concrete_fields
            if isinstance(f, models.FileField) or (f.name == "stored_file" and isinstance(f, models.CharField))]


def stored_references() -> list[Reference]:
    """Every file named by a row of any model, once each, in a stable order."""
    found: dict[str, Reference] = {}
    for model in apps.get_models():
        names = _file_fields(model)
        if not names:
            continue
        digest = "sha256" if any(f.name == "sha256" for f in model._meta.concrete_fields) else None
        label = model._meta.label_lower
        for name in names:
            columns = ["pk", name] + ([digest] if digest else [])
            for row in model._base_manager.exclude(**{name: ""}).order_by("pk").values_list(*columns).iterator():
                stored = str(row[1])
                found.setdefault(stored, Reference(name=stored, owner=f"{label} {row[0]}",
                                                   sha256=row[2] if digest else ""))
    return sorted(found.values(), key=lambda ref: ref.name)


def _manifest_sha256(path: Path) -> str:
    """The SHA-256 an export's manifest recorded for it; "" when there is none to read."""
    try:
        return str(json.loads(path.read_text(encoding="utf-8")).get("sha256", ""))
    except (OSError, ValueError, AttributeError):
        return ""


def folder_references(source_dir: Path) -> list[Reference]:
    """Every file under the folders no row names (the evidence exports and their
    manifests), each export with the digest its manifest recorded."""
    found = []
    for folder in UNNAMED_FOLDERS:
        root = source_dir / folder
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            if not path.is_file():
                continue
            name = path.relative_to(source_dir).as_posix()
            manifest = path.with_name(path.name + MANIFEST_SUFFIX)
            sha256 = _manifest_sha256(manifest) if manifest.is_file() else ""
            found.append(Reference(name=name, owner=f"{folder} folder", sha256=sha256))
    return found


def contained(source_dir: Path, name: str) -> Path | None:
    """The local path of ``name`` inside ``source_dir``, or None when the name is absolute
    or leads outside it (``..``, or a symbolic link that points away)."""
    pure = PurePosixPath(name)
    if not name or pure.is_absolute() or Path(name).is_absolute() or ".." in pure.parts:
        return None
    root = source_dir.resolve()
    local = (root / pure).resolve()
    return local if local.is_relative_to(root) and local != root else None


def _digest(chunks) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    for chunk in chunks:
        size += len(chunk)
        digest.update(chunk)
    return size, digest.hexdigest()


def _local_digest(path: Path) -> tuple[int, str]:
    with path.open("rb") as handle:
        return _digest(iter(lambda: handle.read(CHUNK), b""))


def _stored_digest(storage: Storage, name: str) -> tuple[int, str]:
    with storage.open(name, "rb") as handle:
        return _digest(handle.chunks(CHUNK))


def storage_move(*, source_dir: Path, storage: Storage | None = None, dry_run: bool = False,
                 say=lambda line: None) -> Outcome:
    """Copy and verify every referenced file; ``say`` gets a line per file."""
    storage = storage or default_storage
    outcome = Outcome()
    references = stored_references()
    named = {ref.name for ref in references}
    references += [ref for ref in folder_references(source_dir) if ref.name not in named]
    for ref in references:
        local = contained(source_dir, ref.name)
        if local is None:
            outcome.refused.append(ref.name)
            say(f"refused     {ref.name} ({ref.owner}): absolute or outside {source_dir}, not read")
            continue
        if not local.is_file():
            outcome.missing.append(ref.name)
            say(f"missing     {ref.name} ({ref.owner}): not in {source_dir}")
            continue
        expected = _local_digest(local)
        if ref.sha256 and expected[1] != ref.sha256:
            outcome.mismatched.append(ref.name)
            say(f"mismatched  {ref.name} ({ref.owner}): the local file is not the one recorded (SHA-256 differs)")
            continue
        if storage.exists(ref.name):
            if _stored_digest(storage, ref.name) == expected:
                outcome.verified.append(ref.name)
                say(f"verified    {ref.name} (already there)")
                continue
            if not dry_run:
                storage.delete(ref.name)  # a partial or different copy: replaced under the same name
        if dry_run:
            outcome.copied.append(ref.name)
            say(f"would copy  {ref.name} ({expected[0]:,} bytes)")
            continue
        with local.open("rb") as handle:
            saved = storage.save(ref.name, File(handle, name=ref.name))
        if saved != ref.name or _stored_digest(storage, saved) != expected:
            outcome.mismatched.append(ref.name)
            say(f"mismatched  {ref.name}: the copy read back is not the local file")
            continue
        outcome.copied.append(ref.name)
        say(f"copied      {ref.name} ({expected[0]:,} bytes, SHA-256 checked)")
    return outcome


class Command(BaseCommand):
    help = ("Copy every file the database names from the old local upload folder into the configured "
            "storage, verify each (size and SHA-256 read back), and name any missing or mismatched one.")

    def add_arguments(self, parser):
        parser.add_argument("--from-local", required=True, type=Path, metavar="DIR",
                            help="The old MEDIA_ROOT the files are in now.")
        parser.add_argument("--dry-run", action="store_true", help="Say what would be copied; write nothing.")

    def handle(self, *args, from_local: Path, dry_run: bool, **options):
        if not from_local.is_dir():
            raise CommandError(f"{from_local} is not a folder.")
        outcome = storage_move(source_dir=from_local, dry_run=dry_run, say=self.stdout.write)
        verb = "would copy" if dry_run else "copied"
        self.stdout.write(f"{len(outcome.copied)} {verb}, {len(outcome.verified)} already there and verified, "
                          f"{len(outcome.missing)} missing, {len(outcome.mismatched)} mismatched"
                          + (f", {len(outcome.refused)} refused." if outcome.refused else "."))
        if outcome.failed:
            raise CommandError(FAILED.format(count=len(outcome.failed), names=", ".join(outcome.failed)))
