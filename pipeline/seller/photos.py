"""The agent's photo shown to their sellers: checked by its content, stored under our name."""

from __future__ import annotations

import uuid
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from leadcrm.accounts.models import User
from leadcrm.shared.uploads import sniff_document
from pipeline.models import (
    AgentPhoto,
)

PHOTO_MAX_BYTES = 5 * 2**20


PHOTO_NOT_AN_IMAGE = "The photo must be a JPEG or PNG image (checked by its content)."


PHOTO_TOO_LARGE = "The photo is {size:.1f} MB; the most is 5 MB."


# The agent's photo ----------------------------------------------------------------------


def agent_photo_set(*, user: User, file) -> AgentPhoto:
    if file.size > PHOTO_MAX_BYTES:
        raise ValidationError({"photo": PHOTO_TOO_LARGE.format(size=file.size / 2**20)})
    file.seek(0)
    sniffed = sniff_document(file.read(16))
    file.seek(0)
    if sniffed is None or sniffed[0] not in ("image/jpeg", "image/png"):
        raise ValidationError({"photo": PHOTO_NOT_AN_IMAGE})
    content_type, extension = sniffed
    relative = f"photos/{uuid.uuid4().hex}.{extension}"
    target = Path(settings.MEDIA_ROOT) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "xb") as out:
        for chunk in file.chunks():
            out.write(chunk)
    old = AgentPhoto.objects.filter(user=user).first()
    photo, _ = AgentPhoto.objects.update_or_create(user=user, defaults={
        "stored_file": relative, "content_type": content_type, "uploaded_at": timezone.now()})
    if old is not None:
        (Path(settings.MEDIA_ROOT) / old.stored_file).unlink(missing_ok=True)
    return photo


def agent_photo_remove(*, user: User) -> bool:
    photo = AgentPhoto.objects.filter(user=user).first()
    if photo is None:
        return False
    (Path(settings.MEDIA_ROOT) / photo.stored_file).unlink(missing_ok=True)
    photo.delete()
    return True


def agent_photo_path(user: User | None) -> tuple[Path, str] | None:
    photo = AgentPhoto.objects.filter(user=user).first() if user else None
    return (Path(settings.MEDIA_ROOT) / photo.stored_file, photo.content_type) if photo else None
