"""What a token may do: its scopes (``leadcrm/accounts/tokens.py``), checked on every request.

A GET (or HEAD, OPTIONS) needs ``read``; any other method ``write``. A view asks for more,
or for other scopes, with ``required_scopes``: ``{"POST": ["write", "outreach"]}`` on the
outreach log, ``{"POST": ["read"]}`` on the gate's check, which writes nothing. Only a
token's caller is checked: a browser's session has every scope the user's role allows (the
role's permissions are checked by the views themselves, token or not), and a lead source's
key reaches one endpoint of its own. See docs/architecture.md#api-errors-and-tokens.
"""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS, BasePermission

from leadcrm.accounts.tokens import ALL_SCOPES, ApiToken, Scope

MISSING_SCOPE = ("This token does not have the {scopes} scope this request needs. Make a token that has it "
                 "(on your settings page, or POST /api/v1/tokens with a token that has it itself).")


class InsufficientScope(exceptions.PermissionDenied):
    default_detail = "This token does not have a scope this request needs."
    default_code = "insufficient_scope"


def scopes_needed(request, view) -> list[str]:
    """The scopes ``request`` needs on ``view``, in the order of ``Scope``."""
    wanted = getattr(view, "required_scopes", {}).get(request.method)
    if wanted is None:
        wanted = [Scope.READ] if request.method in SAFE_METHODS else [Scope.WRITE]
    return [scope for scope in ALL_SCOPES if scope in wanted]


class TokenScopes(BasePermission):
    """A token's request needs its scopes: a 403 ``insufficient_scope`` naming the missing ones."""

    def has_permission(self, request, view):
        token = request.auth
        if not isinstance(token, ApiToken):
            return True
        missing = [scope for scope in scopes_needed(request, view) if not token.has_scope(scope)]
        if missing:
            raise InsufficientScope(MISSING_SCOPE.format(scopes=" and ".join(f"`{scope}`" for scope in missing)))
        return True
