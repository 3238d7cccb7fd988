"""The API's OpenAPI schema: its class (``pipeline/api/openapi.py``), its auth schemes and
its Swagger page."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularSwaggerSplitView

from leadcrm.shared.security import policy_with

from .openapi import ApiSchema

__all__ = ["ApiDocsView", "ApiSchema"]


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """How ``pipeline.api.authentication.ApiTokenAuthentication`` is used, in the schema."""

    target_class = "pipeline.api.authentication.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": (
                    "`Token <key>`: a key made on your LeadCRM settings page or with `POST /api/v1/tokens` (shown "
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
