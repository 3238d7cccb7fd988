from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from rest_framework.authtoken.models import TokenProxy

from .forms import AdminLoginForm
from .models import Brokerage, Team, TeamMembership, User
from .roles import Perm, Role
from .selectors import teams_visible_to, users_visible_to
from .services import user_set_role
from .tokens import ApiToken, token_revoke

# What only a broker (or a superuser) may set on an account: these decide what the person
# can do everywhere, so a team lead sees them and never changes them.
ACCESS_FIELDS = ("role", "is_active", "is_staff", "is_superuser", "groups", "user_permissions")

# The admin's sign-in counts failures like ours does (throttle.py) and says when it stops.
admin.site.login_form = AdminLoginForm


class HiddenIsNotFoundMixin:
    """A record outside ``get_queryset`` is a 404 on every page of it, as a lead is
    (leads/admin.py), instead of the admin's redirect that says it does not exist."""

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404("No such record.")
        return obj


class RoleFieldMixin(forms.Form):
    role = forms.ChoiceField(choices=Role.choices, help_text="Sets the user's permissions.")


class UserAdminChangeForm(RoleFieldMixin, UserChangeForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.role:
            self.initial["role"] = self.instance.role.value


class UserAdminCreationForm(RoleFieldMixin, UserCreationForm):
    class Meta(UserCreationForm.Meta):
        model = User


class TeamMembershipInline(admin.TabularInline):
    model = TeamMembership
    fk_name = "user"
    extra = 0
    max_num = 1


@admin.register(User)
class UserAdmin(HiddenIsNotFoundMixin, DjangoUserAdmin):
    form = UserAdminChangeForm
    add_form = UserAdminCreationForm
    list_display = ["username", "full_name", "role_label", "email", "capacity", "is_active"]
    list_filter = ["groups", "capacity", "is_active", "license_state"]
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        ("Person", {"fields": ["first_name", "last_name", "email", "phone", "time_zone"]}),
        # The provider number texts and calls show, and the agent's phone click-to-call rings.
        ("Texts and calls", {"fields": ["sending_number", "call_phone"]}),
        ("Role", {"fields": ["role", "is_active", "is_superuser"]}),
        (
            "Role profile (what the homeowner is told)",
            {"fields": ["capacity", "license_number", "license_state", "license_status"]},
        ),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": ["username", "first_name", "last_name", "email", "role",
                           "capacity", "license_number", "license_state", "license_status",
                           "password1", "password2"],
            },
        ),
    ]
    readonly_fields = ["last_login", "date_joined"]
    inlines = [TeamMembershipInline]

    def get_queryset(self, request):
        # The same rule as leads (leads/admin.py): a record you may not see is a 404.
        return users_visible_to(request.user).prefetch_related("groups")

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if not request.user.has_perm(Perm.VIEW_ALL_LEADS):
            form.base_fields.pop("role", None)  # shown read-only instead (get_readonly_fields)
        return form

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if request.user.has_perm(Perm.VIEW_ALL_LEADS):
            return readonly
        return readonly + [name for name in ACCESS_FIELDS if name not in readonly]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if request.user.is_superuser:
            return fieldsets
        # Only a superuser makes superusers; a broker manages roles.
        return [
            (name, {**options, "fields": [f for f in options["fields"] if f != "is_superuser"]})
            for name, options in fieldsets
        ]

    @admin.display(description="Name", ordering="last_name")
    def full_name(self, user):
        return user.get_full_name()

    @admin.display(description="Role")
    def role_label(self, user):
        return user.role.label if user.role else "—"

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if "role" in form.cleaned_data:  # read-only (so absent) for anyone but a broker
            user_set_role(user=obj, role=Role(form.cleaned_data["role"]))


class MembershipInline(admin.TabularInline):
    model = TeamMembership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(HiddenIsNotFoundMixin, admin.ModelAdmin):
    list_display = ["name", "lead", "member_count"]
    search_fields = ["name"]
    autocomplete_fields = ["lead"]
    inlines = [MembershipInline]

    def get_queryset(self, request):
        return teams_visible_to(request.user).select_related("lead").prefetch_related("memberships")

    @admin.display(description="Members")
    def member_count(self, team):
        return len(team.memberships.all())


@admin.register(TeamMembership)
class TeamMembershipAdmin(HiddenIsNotFoundMixin, admin.ModelAdmin):
    list_display = ["user", "team", "capacity_weight", "is_active"]
    list_filter = ["team", "is_active"]
    list_select_related = ["user", "team"]
    autocomplete_fields = ["user", "team"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(team__in=teams_visible_to(request.user))


@admin.register(Brokerage)
class BrokerageAdmin(admin.ModelAdmin):
    fieldsets = [
        (None, {"fields": ["name", "license_number", "license_state"]}),
        ("Office", {"fields": ["office_street", "office_city", "office_state", "office_zip",
                               "phone", "email", "website"]}),
        ("Compliance", {"fields": ["texas_registration_number", "texas_exemption",
                                   "investor_offer_opt_in_on"]}),
        ("Calls through the provider", {"fields": ["record_calls"]}),
    ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        # One brokerage per installation: the list is just its settings page.
        brokerage = Brokerage.objects.current()
        return HttpResponseRedirect(
            reverse("admin:accounts_brokerage_change", args=[brokerage.pk])
        )


# API keys are ``ApiToken`` digests (tokens.py); DRF's plain-text tokens are no longer read,
# so its page, which would make one that works nowhere, is taken away.
if admin.site.is_registered(TokenProxy):
    admin.site.unregister(TokenProxy)


@admin.register(ApiToken)
class ApiTokenAdmin(HiddenIsNotFoundMixin, admin.ModelAdmin):
    """Who holds which API token and integration key, their scopes, expiry and last use; a
    token is revoked here (kept, with when, so its 401 says so). None is made here: a key is
    shown once, to whoever makes it on the settings page or through the API."""

    list_display = ["name", "user", "scopes", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at"]
    list_filter = ["user__is_integration", ("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["user"]
    search_fields = ["name", "user__username", "user__first_name", "prefix"]
    readonly_fields = ["name", "user", "scopes", "prefix", "created_at", "created_by", "expires_at", "last_used_at",
                       "revoked_at"]
    exclude = ["digest", "purpose"]
    actions = ["revoke"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(user__in=users_visible_to(request.user))

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        for token in queryset.filter(revoked_at__isnull=True).select_related("user"):
            token_revoke(token=token)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
