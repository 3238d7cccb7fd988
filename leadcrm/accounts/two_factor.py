"""The second factor: who must have one, setting it up, and resetting it.

Brokers and anyone with the admin (staff, superusers) must pass a code from an
authenticator app (TOTP, django-otp) after their password, before any other page;
agents may turn it on, and once on it is asked of them too. Ten single-use recovery
codes (django-otp's static device) stand in for a lost phone. See
docs/security.md#second-factor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from .models import User
from .roles import Role

APP_DEVICE_NAME = "Authenticator app"
RECOVERY_DEVICE_NAME = "Recovery codes"


def second_factor_mandatory(user) -> bool:
    """Brokers and the admin's users (staff, superusers) may not sign in without it."""
    return user.is_authenticated and (user.is_staff or user.is_superuser or user.role == Role.BROKER)


def second_factor_required(user) -> bool:
    """Whether this user must pass a code after the password: the mandatory ones, and
    anyone else who turned it on."""
    return second_factor_mandatory(user) or (user.is_authenticated and has_second_factor(user))


def has_second_factor(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


@dataclass(frozen=True)
class CodeCheck:
    """What checking a code found: the device that accepted it; or, when none did,
    ``wait_seconds`` above 0 if django-otp's own waiting period was running (the code was
    not checked at all, so it is no wrong guess); else the code is wrong."""

    device: object | None = None
    wait_seconds: int = 0


def device_wait_seconds(device) -> int:
    """Seconds left of django-otp's waiting period on ``device`` (1, 2, 4, 8... seconds
    after each wrong code in a row, stored on the device), 0 when a code may be checked.
    django-otp refuses every code in that period, the right one too: we ask first, to say
    "wait" rather than "wrong"."""
    allowed, data = device.verify_is_allowed()
    if allowed:
        return 0
    locked_until = (data or {}).get("locked_until")
    if locked_until is None:
        return 1
    return max(1, math.ceil((locked_until - timezone.now()).total_seconds()))


def is_app_code(code: str) -> bool:
    """Six digits are the app's; anything else is a recovery code (eight letters and
    digits). Each kind goes to its own device only, so wrong app codes never start a wait
    on the recovery codes: they stay usable while the app's wait runs."""
    return len(code) == 6 and code.isdigit()


def second_factor_verify(*, user: User, code: str) -> CodeCheck:
    """Check ``code`` against the user's device of its kind (app or recovery codes). In
    one transaction: django-otp locks the devices it checks (a recovery code is spent
    once, even by two requests at the same moment)."""
    from django_otp import devices_for_user

    wait = 0
    with transaction.atomic():
        for device in devices_for_user(user, for_verify=True):
            if isinstance(device, TOTPDevice) != is_app_code(code):
                continue
            seconds = device_wait_seconds(device)
            if seconds:
                wait = max(wait, seconds)
                continue
            if device.verify_token(code):
                return CodeCheck(device=device)
    return CodeCheck(wait_seconds=wait)


@transaction.atomic
def totp_device_start(*, user: User) -> TOTPDevice:
    """The app device being set up (not yet confirmed): the same key until confirmed, so
    reloading the page does not change the QR code the user already scanned."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=APP_DEVICE_NAME, confirmed=False)
    return device


@transaction.atomic
def totp_device_confirm(*, device: TOTPDevice, code: str) -> list[str] | None:
    """Confirm the app with a code it shows: the new recovery codes, or None when the code
    is wrong. Any older app device of the user's goes (one phone at a time)."""
    if not device.verify_token(code):
        return None
    TOTPDevice.objects.filter(user=device.user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    return recovery_codes_issue(user=device.user)


@transaction.atomic
def recovery_codes_issue(*, user: User) -> list[str]:
    """Ten new single-use recovery codes, replacing any before; shown once, stored as
    django-otp stores them."""
    device, _ = StaticDevice.objects.get_or_create(user=user, name=RECOVERY_DEVICE_NAME,
                                                   defaults={"confirmed": True})
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(settings.LEADCRM_RECOVERY_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


@transaction.atomic
def second_factor_reset(*, user: User) -> None:
    """Forget the user's app and recovery codes (a lost phone: a superuser does it, see
    docs/security.md#second-factor) and end their sessions: a broker or admin user sets it
    up again at their next sign-in; an agent has it off until they turn it on."""
    from .services import user_sessions_end

    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    user_sessions_end(user=user)
