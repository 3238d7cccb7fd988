"""The API's own keys: a user's tokens (``/tokens/``) and the brokerage's integration keys
(``/integration-keys/``), listed without their keys, made (the key in that answer only),
renamed and revoked.

A token asking to make one may give it only scopes it has itself, so a read-only key cannot
mint a writing one. Integration keys are a broker's (``Perm.MANAGE_INTEGRATION_KEYS``): each
acts as a service user of the brokerage (``pipeline/api/services.py``), not as its maker.
See docs/architecture.md#api-errors-and-tokens.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from leadcrm.accounts.roles import Perm
from leadcrm.accounts.tokens import ApiToken, Scope
from leadcrm.shared.api import ModelSerializer

from .permissions import MISSING_SCOPE, InsufficientScope
from .schema import ApiSchema
from .services import (
    api_token_create,
    api_token_rename,
    api_token_revoke,
    integration_key_create,
)
from .views import ANY_ID

BOTH_EXPIRIES = "Give `expires_in_days` or `expires_at`, not both."
INTEGRATION_MAKES_NO_TOKENS = ("An integration key makes no tokens: a broker makes integration keys "
                               "(POST /api/v1/integration-keys).")
NOT_YOURS_TO_MANAGE = "Only a broker makes, lists and revokes the brokerage's integration keys."


# Serializers ------------------------------------------------------------------------------


class ApiTokenSerializer(ModelSerializer):
    """A token as listed: never its key, which only the answer that made it carries."""

    scopes = serializers.ListField(child=serializers.ChoiceField(choices=Scope.choices), read_only=True)
    key_prefix = serializers.CharField(source="prefix", read_only=True,
                                       help_text="The key's first characters, to tell your keys apart.")
    created_by = serializers.StringRelatedField(read_only=True, allow_null=True)
    revoked = serializers.BooleanField(read_only=True)
    expired = serializers.BooleanField(read_only=True)

    class Meta:
        model = ApiToken
        fields = ["id", "name", "scopes", "key_prefix", "created_at", "created_by", "expires_at", "expired",
                  "last_used_at", "revoked_at", "revoked", "updated_at"]
        read_only_fields = fields


class IntegrationKeySerializer(ApiTokenSerializer):
    user_id = serializers.IntegerField(read_only=True,
                                       help_text="The integration's own user: the name history shows for its work.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "user_id"]
        read_only_fields = fields


class NewKeyMixin(serializers.Serializer):
    key = serializers.CharField(read_only=True, help_text="The key: shown in this answer only, kept nowhere.")


class ApiTokenCreatedSerializer(NewKeyMixin, ApiTokenSerializer):
    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "key"]
        read_only_fields = fields


class IntegrationKeyCreatedSerializer(NewKeyMixin, IntegrationKeySerializer):
    class Meta(IntegrationKeySerializer.Meta):
        fields = [*IntegrationKeySerializer.Meta.fields, "key"]
        read_only_fields = fields


class ApiTokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=80, help_text="What will use it, e.g. “Zapier sync”.")
    scopes = serializers.MultipleChoiceField(
        choices=Scope.choices, allow_empty=False,
        help_text="`read` (GET), `write` (every other method), `outreach` (logging outreach, with `write`).")
    expires_in_days = serializers.IntegerField(
        required=False, min_value=1, max_value=settings.LEADCRM_API_TOKEN_MAX_DAYS,
        help_text=f"Days it works from now; neither this nor `expires_at`: {settings.LEADCRM_API_TOKEN_DAYS}.")
    expires_at = serializers.DateTimeField(
        required=False, help_text=f"When it stops working: at most {settings.LEADCRM_API_TOKEN_MAX_DAYS} days ahead.")

    def validate(self, attrs):
        if "expires_in_days" in attrs and "expires_at" in attrs:
            raise serializers.ValidationError({"expires_at": [BOTH_EXPIRIES]})
        if "expires_in_days" in attrs:
            attrs["lifetime"] = timedelta(days=attrs.pop("expires_in_days"))
        attrs["scopes"] = list(attrs["scopes"])
        return attrs


class ApiTokenRenameSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=80)


# Views ------------------------------------------------------------------------------------


def _scopes_within_callers(request, scopes: list[str]) -> None:
    """A token gives no more than it has: a 403 ``insufficient_scope`` naming what it lacks."""
    token = request.auth
    if isinstance(token, ApiToken):
        missing = [scope for scope in scopes if not token.has_scope(scope)]
        if missing:
            raise InsufficientScope(MISSING_SCOPE.format(scopes=" and ".join(f"`{s}`" for s in missing)))


def _callers_expiry(request):
    """When the token making a token stops (None for a browser's session): the new one may
    not outlive it."""
    return request.auth.expires_at if isinstance(request.auth, ApiToken) else None


class _KeyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    schema = ApiSchema()
    lookup_value_regex = ANY_ID
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    # The answer that makes a key carries it: an Idempotency-Key's retry is told the first
    # made it, and the key itself is stored nowhere (leadcrm/shared/idempotency.py).
    answer_shown_once = True

    def get_queryset(self):
        return self.keys().select_related("created_by")

    def keys(self):
        raise NotImplementedError

    def make(self, request, create):
        """A token made from the body, within the caller's own scopes and expiry, answered
        with its key (this once)."""
        serializer = ApiTokenCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        _scopes_within_callers(request, data["scopes"])
        token, key = create(name=data["name"], scopes=data["scopes"], expires_at=data.get("expires_at"),
                            lifetime=data.get("lifetime"), not_after=_callers_expiry(request))
        return Response({**self.get_serializer(token).data, "key": key}, status=status.HTTP_201_CREATED)

    def destroy(self, request, pk=None, format=None):
        api_token_revoke(token=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    def partial_update(self, request, pk=None, format=None):
        token = self.get_object()
        serializer = ApiTokenRenameSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token = api_token_rename(token=token, name=serializer.validated_data["name"])
        return Response(self.get_serializer(token).data)


@extend_schema(tags=["tokens"])
class ApiTokenViewSet(_KeyViewSet):
    """Your own API tokens: list them (no keys), make one (its key in that answer only),
    rename one, revoke one (a 204; the key is a 401 from then on)."""

    serializer_class = ApiTokenSerializer

    def keys(self):
        if getattr(self, "swagger_fake_view", False):
            return ApiToken.objects.none()  # the schema generator asks without a user
        return ApiToken.objects.filter(user=self.request.user)

    @extend_schema(request=ApiTokenCreateSerializer, responses={201: ApiTokenCreatedSerializer})
    def create(self, request, format=None):
        if request.user.is_integration:
            raise PermissionDenied(INTEGRATION_MAKES_NO_TOKENS)
        return self.make(request, lambda **asked: api_token_create(user=request.user, **asked))

    @extend_schema(request=ApiTokenRenameSerializer, responses=ApiTokenSerializer)
    def partial_update(self, request, pk=None, format=None):
        return super().partial_update(request, pk, format)

    @extend_schema(request=None, responses={204: None})
    def destroy(self, request, pk=None, format=None):
        return super().destroy(request, pk, format)


@extend_schema(tags=["integration keys"])
class IntegrationKeyViewSet(_KeyViewSet):
    """The brokerage's integration keys, a broker's to make and revoke: each acts as an
    integration user of its own ("Zapier sync (integration)" in history), sees every lead
    and works them as a team lead does, and keeps working when the broker who made it leaves."""

    serializer_class = IntegrationKeySerializer

    def keys(self):
        if getattr(self, "swagger_fake_view", False):
            return ApiToken.objects.none()
        return ApiToken.objects.filter(user__is_integration=True)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if not request.user.has_perm(Perm.MANAGE_INTEGRATION_KEYS):
            raise PermissionDenied(NOT_YOURS_TO_MANAGE)

    @extend_schema(request=ApiTokenCreateSerializer, responses={201: IntegrationKeyCreatedSerializer})
    def create(self, request, format=None):
        return self.make(request, lambda **asked: integration_key_create(created_by=request.user, **asked))

    @extend_schema(request=ApiTokenRenameSerializer, responses=IntegrationKeySerializer)
    def partial_update(self, request, pk=None, format=None):
        return super().partial_update(request, pk, format)

    @extend_schema(request=None, responses={204: None})
    def destroy(self, request, pk=None, format=None):
        return super().destroy(request, pk, format)
