"""The second factor: who must have one, setting it up, and resetting it.

Brokers and anyone with the admin (staff, superusers) must pass a code from an
authenticator app (TOTP, django-otp) after their password, before any other page;
agents may turn it on, and once on it is asked of them too. Ten single-use recovery
codes (django-otp's static device) stand in for a lost phone. See
docs/security.md#second-factor.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
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


def second_factor_verify(*, user: User, code: str):
    """The user's device (app or recovery codes) that accepts ``code``, or None. In one
    transaction: django-otp locks the devices it checks (a recovery code is spent once,
    even by two requests at the same moment)."""
    from django_otp import devices_for_user

    with transaction.atomic():
        for device in devices_for_user(user, for_verify=True):
            if device.verify_token(code):
                return device
    return None


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
