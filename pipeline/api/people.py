"""Users and teams, read only: whom the caller may see and give leads and follow-ups to.

The same scope as the pages (``leadcrm/accounts/selectors.py``): an agent sees themself, a
team lead themself and the people on the teams they lead, a broker everyone; teams, those
a team lead leads, every one for a broker. Nothing here is a secret: no password, no key,
no second factor, no calendar address.
"""

from __future__ import annotations

from django.db.models import Prefetch
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from leadcrm.accounts.models import Team, TeamMembership, User
from leadcrm.accounts.roles import Role
from leadcrm.accounts.selectors import teams_visible_to, users_assignable_by, users_visible_to
from leadcrm.shared.api import ModelSerializer

from .schema import ApiSchema
from .views import ANY_ID

# Shapes ---------------------------------------------------------------------------------


class UserSerializer(ModelSerializer):
    name = serializers.CharField(source="*", read_only=True, help_text="The full name, else the username.")
    role = serializers.ChoiceField(choices=Role.choices, read_only=True, allow_null=True,
                                   help_text="Null for an account with no role (it can do nothing).")
    team_ids = serializers.SerializerMethodField(help_text="The team the user is on (at most one).")
    led_team_ids = serializers.SerializerMethodField(help_text="The teams the user leads.")

    class Meta:
        model = User
        fields = ["id", "username", "name", "first_name", "last_name", "email", "role", "team_ids", "led_team_ids",
                  "is_active"]
        read_only_fields = fields  # read only, so every field is always there (required in the schema)

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_team_ids(self, user) -> list[int]:
        membership = getattr(user, "team_membership", None)
        return [membership.team_id] if membership is not None and membership.is_active else []

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_led_team_ids(self, user) -> list[int]:
        return [team.pk for team in user.led_teams.all()]


class TeamMemberSerializer(ModelSerializer):
    id = serializers.IntegerField(source="user_id", read_only=True, help_text="The member's user id.")
    name = serializers.CharField(source="user", read_only=True)
    is_active = serializers.BooleanField(read_only=True, help_text="Still on the team (false: left it).")

    class Meta:
        model = TeamMembership
        fields = ["id", "name", "is_active", "capacity_weight", "joined_at"]
        read_only_fields = fields


class TeamSerializer(ModelSerializer):
    lead_id = serializers.IntegerField(read_only=True, help_text="The team lead's user id.")
    lead_name = serializers.CharField(source="lead", read_only=True)

    class Meta:
        model = Team
        fields = ["id", "name", "lead_id", "lead_name", "created_at"]
        read_only_fields = fields


class TeamDetailSerializer(TeamSerializer):
    members = TeamMemberSerializer(source="memberships", many=True, read_only=True)

    class Meta(TeamSerializer.Meta):
        fields = [*TeamSerializer.Meta.fields, "members"]
        read_only_fields = fields


# Views ----------------------------------------------------------------------------------


class UserFilter(filters.FilterSet):
    assignable = filters.BooleanFilter(method="filter_assignable", help_text=(
        "true: only those you may give a lead or a follow-up to (active, and yourself or someone you lead; "
        "a broker: anyone active)."))

    class Meta:
        model = User
        fields = ["assignable", "is_active"]

    def filter_assignable(self, queryset, name, value):
        assignable = users_assignable_by(self.request.user).values("pk")
        return queryset.filter(pk__in=assignable) if value else queryset.exclude(pk__in=assignable)


def _users(queryset):
    # One query for the users and their memberships, one each for roles and led teams.
    return queryset.select_related("team_membership").prefetch_related("groups", "led_teams")


class UserViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The users the caller may see: an agent themself, a team lead their teams, a broker everyone."""

    schema = ApiSchema()
    lookup_value_regex = ANY_ID
    serializer_class = UserSerializer
    filterset_class = UserFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return User.objects.none()  # the schema generator asks without a user
        return _users(users_visible_to(self.request.user))

    @extend_schema(responses=UserSerializer, filters=False)
    @action(detail=False, methods=["get"], pagination_class=None, filter_backends=[])
    def me(self, request, format=None):
        """The caller: their id, role and teams."""
        return Response(UserSerializer(_users(User.objects.filter(pk=request.user.pk)).get()).data)


class TeamViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The teams the caller may see: those a team lead leads, every team for a broker."""

    schema = ApiSchema()
    lookup_value_regex = ANY_ID

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Team.objects.none()  # the schema generator asks without a user
        teams = teams_visible_to(self.request.user).select_related("lead")
        if self.action == "retrieve":
            teams = teams.prefetch_related(Prefetch(
                "memberships", queryset=TeamMembership.objects.select_related("user").order_by("user__first_name",
                                                                                              "user__last_name", "pk")))
        return teams

    def get_serializer_class(self):
        return TeamDetailSerializer if self.action == "retrieve" else TeamSerializer

