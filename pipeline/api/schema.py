"""The API's OpenAPI schema class and its Swagger page."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularSwaggerSplitView

from leadcrm.shared.api import ERRORS, PROBLEM_TYPE
from leadcrm.shared.security import policy_with

# The schema ------------------------------------------------------------------------------


class ApiSchema(AutoSchema):
    """Each operation's own answers plus the errors every endpoint can give: 400 (input),
    401 (no token, or an expired one), 403, 413 and 415 (unsafe methods: a role's
    permission, or CSRF with a session; a body too large; a body DRF has no parser for),
    404 (a path naming an object, or a list's cursor) and 429 (the throttle). Every error
    is ``application/problem+json``."""

    def _resolve_path_parameters(self, variables):
        # Ids are integers; the routes take any segment (ANY_ID) only so that a wrong one is
        # answered by the API's JSON 404.
        parameters = super()._resolve_path_parameters(variables)
        for parameter in parameters:
            if parameter["name"] == "id":
                parameter["schema"] = {"type": "integer"}
                parameter["description"] = "The object's id."
        return parameters

    def _get_filter_parameters(self):
        # django-filter reads an empty value as no filter at all: say so.
        return [{**parameter, "allowEmptyValue": True} for parameter in super()._get_filter_parameters()]

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        # 403 on reads too: a token without the `read` scope (pipeline/api/permissions.py).
        codes = ["400", "401", "403", "429"]
        if self.method not in ("GET", "HEAD", "OPTIONS"):
            codes += ["413", "415"]
        if "{" in self.path or self._is_list_view():
            codes.append("404")
        for code in sorted(codes):
            if code in responses:
                continue
            name, schema, description = ERRORS[code]
            component = ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA, object=name, schema=schema)
            self.registry.register_on_missing(component)
            responses[code] = {"content": {PROBLEM_TYPE: {"schema": component.ref}}, "description": description}
        for code, response in responses.items():
            # Every error is a problem body (leadcrm.shared.api.exception_handler,
            # problem_response), the operations' own 409s too.
            content = response.get("content", {})
            if code.startswith(("4", "5")) and "application/json" in content:
                content[PROBLEM_TYPE] = content.pop("application/json")
        return dict(sorted(responses.items()))


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """How ``pipeline.api.authentication.ApiTokenAuthentication`` is used, in the schema."""

    target_class = "pipeline.api.authentication.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": (
                    "`Token <key>`: a key made on your LeadCRM settings page or with `POST /api/v1/tokens/` (shown "
                    "once), or a brokerage integration key a broker made (`/api/v1/integration-keys/`). Each has "
                    "scopes: `read` for GET, `write` for every other method, and `outreach` as well to log outreach "
                    "(`POST /api/v1/outreach/`); the compliance check needs `read` only. A request its token has no "
                    "scope for is a 403 with `code` `insufficient_scope`, naming the scope. A token expires when "
                    f"made to (at most {settings.LEADCRM_API_TOKEN_MAX_DAYS} days; "
                    f"{settings.LEADCRM_API_TOKEN_DAYS} unless asked) and can be revoked: then a 401 says which, "
                    "and where to make a new one.")}


class LeadSourceKeyScheme(OpenApiAuthenticationExtension):
    """How ``pipeline.api.authentication.LeadSourceKeyAuthentication`` is used, in the schema."""

    target_class = "pipeline.api.authentication.LeadSourceKeyAuthentication"
    name = "leadSourceKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer",
                "description": ("A lead source's key, made by the brokerage's broker in the admin (shown once): "
                                "`Authorization: Bearer <key>`, or the key alone in an `X-Api-Key` header. A "
                                "missing, wrong or revoked key is a 401 and nothing is recorded.")}


class ApiDocsView(SpectacularSwaggerSplitView):
    """Swagger UI, served from our static files with its script in a file of its own. The
    widget writes inline style attributes, so this one page allows inline styles (never
    inline script)."""

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        response["Content-Security-Policy"] = policy_with(style_src=["'unsafe-inline'"])
        return response
