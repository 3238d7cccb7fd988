"""Row visibility has one home: ``Lead.objects.visible_to(user)``.

Every view, selector, form choice, admin page and export starts here; a lead outside
the queryset is a 404, never a 403.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Case, DecimalField, ExpressionWrapper, F, Q, Value, When

from leadcrm.accounts.roles import Perm

MONEY = DecimalField(max_digits=14, decimal_places=2)


def lead_scope(user) -> Q | None:
    """The Q that selects the leads ``user`` may see; None means all of them.

    Agents see the leads assigned to them; team leads also those of the teams they lead
    (by the lead's team or by the assigned agent's membership); brokers see every lead.
    Anonymous and inactive users see nothing (``Q(pk__in=[])``).
    """
    if user is None or not user.is_authenticated or not user.is_active:
        return Q(pk__in=[])
    if user.has_perm(Perm.VIEW_ALL_LEADS):
        return None
    scope = Q(assigned_agent=user)
    if user.has_perm(Perm.VIEW_TEAM_LEADS):
        from leadcrm.accounts.models import TeamMembership

        members = TeamMembership.objects.filter(team__lead=user, is_active=True).values("user_id")
        scope |= Q(team__lead=user) | Q(assigned_agent__in=members)
    return scope


class LeadQuerySet(models.QuerySet):
    def visible_to(self, user, *, merged: bool = False) -> LeadQuerySet:
        """The leads ``user`` may see, without the duplicates merged into another lead.

        A merged lead is gone from every list, queue, board, export and API answer, so
        every page and selector leaves it out by default; ``merged=True`` keeps it, for the
        few reads that must still find it (its page leading to the survivor, the merge
        record and its undo: see ``leads.merging``).
        """
        scope = lead_scope(user)
        leads = self if merged else self.filter(merged_into__isnull=True)
        return leads if scope is None else leads.filter(scope)

    def open(self) -> LeadQuerySet:
        from .models import Stage

        return self.exclude(stage__in=[Stage.CLOSED, Stage.DEAD])

    def with_financials(self) -> LeadQuerySet:
        """Annotate equity, loan-to-value (percent) and short-sale candidacy.

        A lead is a short-sale candidate when its liens plus the cost of selling exceed
        the estimated value (``LEADCRM_SELLING_COST_RATE``, 8 % by default).
        """
        value = F("property__estimated_value")
        rate = Value(Decimal(settings.LEADCRM_SELLING_COST_RATE), output_field=MONEY)
        return self.annotate(
            equity=ExpressionWrapper(value - F("lien_total"), output_field=MONEY),
            ltv_percent=Case(
                When(property__estimated_value__gt=0,
                     then=ExpressionWrapper(F("lien_total") * 100 / value, output_field=MONEY)),
                default=None,
                output_field=MONEY,
            ),
            is_short_sale_candidate=Case(
                When(property__estimated_value__isnull=True, then=Value(None)),
                When(lien_total__gt=value - value * rate, then=Value(True)),
                default=Value(False),
                output_field=models.BooleanField(null=True),
            ),
        )


class RelatedToLeadQuerySet(models.QuerySet):
    """For rows that hang off a lead: the same scope, followed through ``lead_path``."""

    lead_path = "lead"

    def visible_to(self, user):
        scope = lead_scope(user)
        if scope is None:
            return self
        from .models import Lead

        return self.filter(**{f"{self.lead_path}__in": Lead.objects.filter(scope).values("pk")})
