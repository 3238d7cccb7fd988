"""The API's version in its paths: ``/api/v1/...``, and the unversioned ``/api/...`` paths
kept as aliases that answer the same with the headers announcing their end
(docs/architecture.md#api-versioning).

The aliases' answers carry ``Deprecation`` (RFC 9745: the moment they were deprecated, as
a structured-field date) and ``Link: <the v1 path>; rel="successor-version"``; no
``Sunset`` (RFC 8594) until a date to remove them is chosen."""

from __future__ import annotations

from datetime import UTC, datetime

API_VERSION = "v1"
# The URL namespace of the unversioned aliases (the current version's is "api").
UNVERSIONED_NAMESPACE = "api-unversioned"
UNVERSIONED_PREFIX = "/api/"
VERSIONED_PREFIX = f"/api/{API_VERSION}/"
# When the unversioned paths were deprecated: the day /api/v1/ was first served.
UNVERSIONED_DEPRECATED_AT = datetime(2026, 12, 7, tzinfo=UTC)


def successor_path(path: str) -> str:
    """The current version's path for an unversioned one (``/api/leads/7/`` -> ``/api/v1/leads/7``,
    v1's paths being published without the trailing slash)."""
    return (VERSIONED_PREFIX + path.removeprefix(UNVERSIONED_PREFIX)).rstrip("/")


class DeprecatedPathsMiddleware:
    """Marks every answer from an unversioned alias as deprecated, with its successor: a
    client reading the headers learns of the move while its calls keep working."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        if match is not None and UNVERSIONED_NAMESPACE in match.namespaces:
            response["Deprecation"] = f"@{int(UNVERSIONED_DEPRECATED_AT.timestamp())}"
            script_prefix = request.path.removesuffix(request.path_info)  # when served under a prefix
            successor = f'<{script_prefix}{successor_path(request.path_info)}>; rel="successor-version"'
            response["Link"] = f"{response['Link']}, {successor}" if response.has_header("Link") else successor
        return response
