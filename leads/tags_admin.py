"""The admin of tags and saved searches (registered from ``admin.py``).

Brokers keep the brokerage-wide vocabulary here and may tidy any team's; a team lead,
their own teams' tags. Saved searches are shown to their owner and their team; a search
nobody may see is a 404, as everywhere."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Q

from leadcrm.accounts.models import Team
from leadcrm.accounts.roles import Perm
from leadcrm.shared.append_only import ReadOnlyAdminMixin

from .admin import LeadScopedAdminMixin  # admin.py imports this module at its end, once that is defined
from .models import LeadTag, SavedSearch, Tag
from .tags import clean_tag_name, team_ids_of

BROKERAGE_TAGS_ARE_THE_BROKERS = "Only a broker keeps the brokerage-wide tags: choose one of your teams."


def _keeps_tags(user) -> bool:
    return user.has_perm(Perm.VIEW_ALL_LEADS) or user.has_perm(Perm.VIEW_TEAM_LEADS)


class TagAdminForm(forms.ModelForm):
    class Meta:
        model = Tag
        fields = ["name", "team", "colour"]

    def clean_name(self):
        try:
            return clean_tag_name(self.cleaned_data["name"])
        except ValidationError as error:
            raise ValidationError(error.message_dict["name"]) from None


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    form = TagAdminForm
    list_display = ["name", "team", "colour", "created_by", "created_at"]
    list_filter = ["colour"]
    list_select_related = ["team", "created_by"]
    search_fields = ["name"]

    def get_queryset(self, request):
        tags = super().get_queryset(request)
        if request.user.has_perm(Perm.VIEW_ALL_LEADS):
            return tags
        return tags.filter(team__in=Team.objects.filter(lead=request.user))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "team" and not request.user.has_perm(Perm.VIEW_ALL_LEADS):
            kwargs["queryset"] = Team.objects.filter(lead=request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if not request.user.has_perm(Perm.VIEW_ALL_LEADS):
            form.base_fields["team"].required = True
            form.base_fields["team"].error_messages["required"] = BROKERAGE_TAGS_ARE_THE_BROKERS
        return form

    def has_module_permission(self, request):
        return _keeps_tags(request.user)

    def has_view_permission(self, request, obj=None):
        return _keeps_tags(request.user)

    has_add_permission = has_module_permission

    def has_change_permission(self, request, obj=None):
        return _keeps_tags(request.user)

    has_delete_permission = has_change_permission


@admin.register(LeadTag)
class LeadTagAdmin(ReadOnlyAdminMixin, LeadScopedAdminMixin, admin.ModelAdmin):
    """Which lead carries which tag, looked at here; tags go on and off on the lead's page."""

    list_display = ["lead", "tag", "added_by", "added_at"]
    list_select_related = ["lead__property", "tag", "added_by"]


@admin.register(SavedSearch)
class SavedSearchAdmin(admin.ModelAdmin):
    """Looked at here; saved, renamed and shared from the lead list."""

    list_display = ["name", "owner", "team", "query", "updated_at"]
    list_select_related = ["owner", "team"]
    search_fields = ["name"]

    def get_queryset(self, request):
        user = request.user
        return super().get_queryset(request).filter(Q(owner=user) | Q(team__in=team_ids_of(user)))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_module_permission(self, request):
        return _keeps_tags(request.user)

    def has_view_permission(self, request, obj=None):
        return _keeps_tags(request.user)

    def has_delete_permission(self, request, obj=None):
        return obj is not None and obj.owner_id == request.user.pk
