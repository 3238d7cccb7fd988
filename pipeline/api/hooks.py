"""drf-spectacular hooks: the schema describes ``/api/v1/`` alone (the unversioned aliases
answer the same and are deprecated: docs/architecture.md#api-versioning), and documents
what the middlewares add to every operation: ``Idempotency-Key`` on every POST with its
409 and 422 (``leadcrm/shared/idempotency.py``), and the RateLimit headers on every
answer (``leadcrm/shared/ratelimit.py``)."""

from __future__ import annotations

from leadcrm.shared.api import ERRORS, PROBLEM_TYPE
from leadcrm.shared.idempotency import ABANDONED_AFTER, HEADER, KEEP_FOR, REPLAYED_HEADER
from leadcrm.shared.ratelimit import LIMIT, REMAINING, RESET
from leadcrm.shared.versioning import UNVERSIONED_PREFIX, VERSIONED_PREFIX


def current_version_only(endpoints):
    """The endpoints under /api/v1/, published without a trailing slash (the routes take one
    too: ``leadcrm/urls.py``); the same views under the unversioned paths are left out."""
    return [(path.rstrip("/") if path.startswith(VERSIONED_PREFIX) else path, *rest)
            for path, *rest in endpoints
            if path.startswith(VERSIONED_PREFIX) or not path.startswith(UNVERSIONED_PREFIX)]


IDEMPOTENCY_PARAMETER = {
    "name": HEADER,
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[ -~]+$"},
    "description": (f"Any string of yours naming this request (a UUID): sent again with the same body, it gets the "
                    f"first answer back, with `{REPLAYED_HEADER}: true`, and nothing is done twice. Kept "
                    f"{int(KEEP_FOR.total_seconds() // 3600)} hours. The same key with another body or path is a "
                    "422 (`idempotency_key_reused`); while the first request is still being answered, a 409 "
                    f"(`idempotency_key_in_use`; a first request silent for {int(ABANDONED_AFTER.total_seconds() // 60)} "
                    "minutes is taken as lost). A 5xx or a 429 is not kept: send the key again."),
}
RATE_LIMIT_HEADERS = {
    "RateLimitLimit": (LIMIT, "The requests the window allows (per user, address or lead-source key)."),
    "RateLimitRemaining": (REMAINING, "The requests left in the window now."),
    "RateLimitReset": (RESET, "Seconds until the oldest request counted leaves the window (and Remaining grows)."),
}
RETRY_AFTER = ("RetryAfter", "Retry-After", "Seconds to wait before the next request.")
IDEMPOTENCY_ANSWERS = {
    "409": "The first request with this Idempotency-Key is still being answered (`idempotency_key_in_use`).",
    "422": "This Idempotency-Key was sent with another request (`idempotency_key_reused`).",
}


def _problem_ref(result) -> dict:
    name, schema, _description = ERRORS["401"]  # the plain problem body
    result.setdefault("components", {}).setdefault("schemas", {}).setdefault(name, schema)
    return {"$ref": f"#/components/schemas/{name}"}


def document_idempotency_and_rate_limits(result, generator, request, public):
    """Idempotency-Key on every POST, and the RateLimit headers on every answer."""
    headers = result.setdefault("components", {}).setdefault("headers", {})
    for component, (_name, description) in RATE_LIMIT_HEADERS.items():
        headers[component] = {"schema": {"type": "integer", "minimum": 0}, "description": description}
    headers[RETRY_AFTER[0]] = {"schema": {"type": "integer", "minimum": 0}, "description": RETRY_AFTER[2]}
    problem = _problem_ref(result)
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            if method == "post":
                parameters = operation.setdefault("parameters", [])
                if not any(parameter.get("name") == HEADER for parameter in parameters):
                    parameters.append(dict(IDEMPOTENCY_PARAMETER))
                for code, description in IDEMPOTENCY_ANSWERS.items():
                    if code in responses:
                        responses[code]["description"] += f" Or: {description[0].lower()}{description[1:]}"
                    else:
                        responses[code] = {"description": description, "content": {PROBLEM_TYPE: {"schema": problem}}}
                operation["responses"] = dict(sorted(responses.items()))
            for code, response in operation["responses"].items():
                answer_headers = response.setdefault("headers", {})
                for component, (name, _description) in RATE_LIMIT_HEADERS.items():
                    answer_headers[name] = {"$ref": f"#/components/headers/{component}"}
                if code == "429":
                    answer_headers[RETRY_AFTER[1]] = {"$ref": f"#/components/headers/{RETRY_AFTER[0]}"}
    return result
