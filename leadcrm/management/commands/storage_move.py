"""Copy every upload the database names from the old local folder into the configured
storage (an S3 bucket, usually), and prove each copy by reading it back.

    python manage.py storage_move --from-local /var/lib/leadcrm/media [--dry-run]

The files are found from the rows that name them: every model's ``stored_file`` and every
``FileField`` (documents, proofs, the agent's photo, list and CRM imports, registry files,
exports). Each is copied under the same name, then read back from the storage and checked
by size and SHA-256 against the local file, and against the digest the row recorded when it
has one (a deal's documents). A file already in the storage with the same bytes is left as
it is, so the command can run again after a failure and only finishes the rest. Missing or
mismatched files are named, and the command exits non-zero (docs/operations.md#uploads-on-object-storage).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from django.apps import apps
from django.core.files import File
from django.core.files.storage import Storage, default_storage
from django.core.management.base import BaseCommand, CommandError
from django.db import models

CHUNK = 1 << 20
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

    @property
    def failed(self) -> list[str]:
        return self.missing + self.mismatched


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
    for ref in stored_references():
        local = source_dir / ref.name
        if not local.is_file():
            outcome.missing.append(ref.name)
            say(f"missing     {ref.name} ({ref.owner}): not in {source_dir}")
            continue
        expected = _local_digest(local)
        if ref.sha256 and expected[1] != ref.sha256:
            outcome.mismatched.append(ref.name)
            say(f"mismatched  {ref.name} ({ref.owner}): the local file is not the one uploaded (SHA-256 differs)")
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
                          f"{len(outcome.missing)} missing, {len(outcome.mismatched)} mismatched.")
        if outcome.failed:
            raise CommandError(FAILED.format(count=len(outcome.failed), names=", ".join(outcome.failed)))
