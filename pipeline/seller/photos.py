"""The agent's photo shown to their sellers: checked by its content, stored under our name."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils import timezone

from leadcrm.accounts.models import User
from leadcrm.shared.uploads import sniff_document, stored_delete, upload_store
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
    relative = upload_store(file, folder="photos", extension=extension)
    old = AgentPhoto.objects.filter(user=user).first()
    photo, _ = AgentPhoto.objects.update_or_create(user=user, defaults={
        "stored_file": relative, "content_type": content_type, "uploaded_at": timezone.now()})
    if old is not None:
        stored_delete(old.stored_file)
    return photo


def agent_photo_remove(*, user: User) -> bool:
    photo = AgentPhoto.objects.filter(user=user).first()
    if photo is None:
        return False
    stored_delete(photo.stored_file)
    photo.delete()
    return True


def agent_photo_stored(user: User | None) -> tuple[str, str] | None:
    """(name in the storage, content type) of the user's photo; None without one."""
    photo = AgentPhoto.objects.filter(user=user).first() if user else None
    return (photo.stored_file, photo.content_type) if photo else None
