"""``Authorization: Token <key>`` against the hashed, expiring tokens of
``leadcrm/accounts/tokens.py`` (DRF's TokenAuthentication reads its plain-text table), and
a lead source's ``Authorization: Bearer <key>`` (``leads/sources.py``) for the one
endpoint sources post to."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from leadcrm.accounts.tokens import api_token_find
from leads.sources import source_key_find

KEYWORD = "Token"
NOT_VALID = "That API token is not valid. Make a new one on your settings page ({url})."
EXPIRED = "Your API token expired on {date}. Make a new one on your settings page ({url})."
REVOKED = ("That API token was revoked on {date} and works no more. Make a new one on your settings page "
           "({url}).")
MALFORMED = "Send the token as `Authorization: Token <key>`, the key with no spaces."


class ApiTokenAuthentication(BaseAuthentication):
    """The user whose unexpired, unrevoked token the header carries (``request.auth`` is the
    token: its scopes are checked by ``permissions.TokenScopes``); an expired or revoked one
    is a 401 that says so and where to make a new one. Its last use is recorded (at most
    once a minute)."""

    def authenticate(self, request):
        words = get_authorization_header(request).split()
        if not words or words[0].lower() != KEYWORD.lower().encode():
            return None
        if len(words) != 2:
            raise exceptions.AuthenticationFailed(MALFORMED)
        try:
            key = words[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed(MALFORMED) from None
        token = api_token_find(key)
        settings_url = request.build_absolute_uri(reverse("pipeline:my_settings"))
        # Revoked first: revoking an integration key also closes its service user.
        if token is not None and token.revoked:
            raise exceptions.AuthenticationFailed(REVOKED.format(date=_day(token.revoked_at), url=settings_url))
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed(NOT_VALID.format(url=settings_url))
        if token.expired:
            raise exceptions.AuthenticationFailed(EXPIRED.format(date=_day(token.expires_at), url=settings_url))
        token.mark_used()
        return token.user, token

    def authenticate_header(self, request):
        return KEYWORD


def _day(moment) -> str:
    local = timezone.localtime(moment)
    return f"{local:%b} {local.day}, {local.year}"


SOURCE_KEYWORD = "Bearer"
SOURCE_KEY_NOT_VALID = ("That lead-source key is not valid or was revoked. Ask the brokerage's broker for the "
                        "source's key (made in the admin, under Lead source keys).")
SOURCE_KEY_MALFORMED = "Send the source's key as `Authorization: Bearer <key>` or `X-Api-Key: <key>`."


class LeadSourceKeyAuthentication(BaseAuthentication):
    """A lead source's key (``leads.sources``), for ``/api/lead-sources/leads/`` only: the
    user is the broker who made it (the leads are added as theirs), ``request.auth`` the key.
    No key, a wrong one, a revoked one (or its broker's account closed): a 401."""

    def authenticate(self, request):
        words = get_authorization_header(request).split()
        if words and words[0].lower() == SOURCE_KEYWORD.lower().encode():
            if len(words) != 2:
                raise exceptions.AuthenticationFailed(SOURCE_KEY_MALFORMED)
            raw = words[1]
        else:
            raw = request.META.get("HTTP_X_API_KEY", "").encode()
            if not raw:
                return None  # a 401 from the permission: NotAuthenticated, with the header below
        try:
            key = raw.decode().strip()
        except UnicodeError:
            raise exceptions.AuthenticationFailed(SOURCE_KEY_MALFORMED) from None
        source_key = source_key_find(key)
        if source_key is None:
            raise exceptions.AuthenticationFailed(SOURCE_KEY_NOT_VALID)
        source_key.mark_used()
        return source_key.created_by, source_key

    def authenticate_header(self, request):
        return SOURCE_KEYWORD
