"""The lead list's query parameters in the API: the filters it had, ``search`` (the lead
page's own search, and email addresses) and ``ordering``, which ``leadcrm.shared.sync``
pages by the field and the id (docs/architecture.md#api-sync)."""

from __future__ import annotations

import django_filters
from django.db.models import Exists, OuterRef, Q

from leads.filters import SEARCH_MAX_LENGTH, search_q
from leads.models import Email, Lead

# Each a column of the lead (the cursor holds its value); the id breaks ties.
LEAD_ORDERINGS = ("created_at", "updated_at", "score", "stage_entered_at", "next_follow_up_at", "last_contacted_at")
ORDERING_CHOICES = [(f"{sign}{name}", f"{name} ({'descending' if sign else 'ascending'})")
                    for name in LEAD_ORDERINGS for sign in ("", "-")]


def lead_search_q(text: str) -> Q:
    """What the lead list's search finds (an owner's name, the street, city or ZIP, a phone
    written any way), and for text with an @ an owner's email address."""
    text = text.strip()
    if "@" in text:
        return Q(Exists(Email.objects.filter(contact__lead=OuterRef("pk"), address__icontains=text)))
    return search_q(text)


class LeadFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(
        method="filter_search", max_length=SEARCH_MAX_LENGTH,
        help_text=("An owner's name, the street address, city or ZIP (every word must match), a phone in any "
                   "format ((918) 555-0104, 9185550104, +1 918 555 0104), or an email address."))
    ordering = django_filters.ChoiceFilter(
        choices=ORDERING_CHOICES, method="filter_ordering",
        help_text=("The order of the rows, the id breaking ties (a leading - for descending; empty dates last). "
                   "Without it, newest first."))

    class Meta:
        model = Lead
        fields = ["stage", "lead_type", "assigned_agent", "team"]

    def filter_search(self, queryset, name, value):
        return queryset.filter(lead_search_q(value)) if value.strip() else queryset

    def filter_ordering(self, queryset, name, value):
        return queryset  # validated here, applied by the pages (leadcrm.shared.sync.SyncPages)
