from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm
from django.http import HttpResponseRedirect
from django.urls import reverse

from .forms import AdminLoginForm
from .models import Brokerage, Team, TeamMembership, User
from .roles import Role
from .services import user_set_role

# The admin's sign-in counts failures like ours does (throttle.py) and says when it stops.
admin.site.login_form = AdminLoginForm


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
class UserAdmin(DjangoUserAdmin):
    form = UserAdminChangeForm
    add_form = UserAdminCreationForm
    list_display = ["username", "get_full_name", "role_label", "email", "capacity", "is_active"]
    list_filter = ["groups", "capacity", "is_active", "license_state"]
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        ("Person", {"fields": ["first_name", "last_name", "email", "phone", "time_zone"]}),
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
        return super().get_queryset(request).prefetch_related("groups")

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if request.user.is_superuser:
            return fieldsets
        # Only a superuser makes superusers; a broker manages roles.
        return [
            (name, {**options, "fields": [f for f in options["fields"] if f != "is_superuser"]})
            for name, options in fieldsets
        ]
    @admin.display(description="Role")
    def role_label(self, user):
        return user.role.label if user.role else "—"

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        user_set_role(user=obj, role=Role(form.cleaned_data["role"]))


class MembershipInline(admin.TabularInline):
    model = TeamMembership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "lead", "member_count"]
    search_fields = ["name"]
    autocomplete_fields = ["lead"]
    inlines = [MembershipInline]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("lead").prefetch_related("memberships")

    @admin.display(description="Members")
    def member_count(self, team):
        return len(team.memberships.all())


@admin.register(TeamMembership)
class TeamMembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "team", "capacity_weight", "is_active"]
    list_filter = ["team", "is_active"]
    list_select_related = ["user", "team"]
    autocomplete_fields = ["user", "team"]


@admin.register(Brokerage)
class BrokerageAdmin(admin.ModelAdmin):
    fieldsets = [
        (None, {"fields": ["name", "license_number", "license_state"]}),
        ("Office", {"fields": ["office_street", "office_city", "office_state", "office_zip",
                               "phone", "email", "website"]}),
        ("Compliance", {"fields": ["texas_registration_number", "texas_exemption",
                                   "investor_offer_opt_in_on"]}),
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
