"""The lead list and the lead's page: they show every part of a lead (its compliance
standing, call scripts, queue status, deal summary, seller card), so they live here,
above every app. Served under /leads/ as ``leads:list`` and ``leads:detail``, with the
workload page, in leads' namespace (leadcrm/urls.py)."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.db.models import Prefetch
from django.http import Http404, HttpResponseRedirect
from django.urls import path
from django.utils import timezone
from django.utils.formats import date_format
from django.views.generic import TemplateView

from compliance.disclosures import role_disclosure_sentence
from compliance.lead_filters import DncStanding, dnc_standings
from compliance.models import ConsentRecord
from compliance.selectors import lead_list, phone_suppressions
from leadcrm.accounts.models import Brokerage
from leadcrm.accounts.roles import Perm
from leadcrm.accounts.selectors import teams_routable_by, users_assignable_by
from leadcrm.shared.pagination import total_of, window
from leadcrm.shared.rows import age, pk_url, short_moment
from leads.models import Contact, DeadReason, Email, LeadType, Phone, Stage
from leads.selectors import lead_get, lead_owner_names
from leads.tags import lead_tagging, leads_attach_tags, tags_usable_by
from pipeline.deals.forms import StageChangeForm
from pipeline.deals.selectors import deal_summary
from pipeline.intake.selectors import lead_form_card
from pipeline.messaging.views import click_to_call_enabled, compose_form_for, is_local_backend
from pipeline.models import ActionPlan
from pipeline.outreach.forms import OutreachLogForm
from pipeline.outreach.queue import phone_status_now
from pipeline.outreach.scripts import call_scripts_for, render
from pipeline.outreach.selectors import lead_last_conversation
from pipeline.plans.lead_selectors import lead_plans_card
from pipeline.privacy.selectors import ERASED_BANNER
from pipeline.reminders.selectors import lead_follow_ups
from pipeline.seller.briefings import seller_card
from pipeline.workspace.duplicates import lead_merged_from, merged_lead_survivor_url
from pipeline.workspace.selectors import lead_activity
from pipeline.workspace.smart_lists import saved_searches_visible_to, teams_to_share_with

from .workload import WorkloadView

LIST_PAGE_SIZE = 50
CHANGE_LEAD = "leads.change_lead"  # every role: a lead's record is edited by whoever works it


class LeadListView(LoginRequiredMixin, TemplateView):
    template_name = "leads/lead_list.html"

    def get_template_names(self):
        if self.request.htmx and self.request.htmx.target == "lead-results":
            return ["leads/partials/_lead_results.html"]
        return [self.template_name]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        leads, lead_filter = lead_list(fetched_by=user, filters=self.request.GET)
        query = self.request.GET.copy()
        query.pop("page", None)
        page = window(leads.only(*ROW_FIELDS), self.request.GET.get("page"), per_page=LIST_PAGE_SIZE)
        _prepare_rows(page.object_list)
        leads_attach_tags(page.object_list, user=user)
        searches = list(saved_searches_visible_to(user))
        context.update(
            # The filter bar renders a dozen widgets: kept a minute per user and query, and
            # for as long as no list is added (its choices).
            filter_cache_key=f"{self.request.GET.urlencode()}:{lead_filter.lists_version}",
            filter=lead_filter,
            page=page,
            # Counted no further than a thousand rows, only when more pages follow.
            total=total_of(leads, page),
            query_without_page=query.urlencode(),
            is_filtered=any(value for key, value in query.items() if key not in ("order", "status")),
            now=timezone.now(),
            # Shown from tablet width up; a phone keeps search, status, stage and sort.
            secondary_filters={"lead_type", "assigned_agent", "team", "list", "tag", "min_score", "area",
                               "auction_within", "follow_up", "callable", "dnc"},
            can_bulk=user.has_perm(Perm.MANAGE_FOLLOW_UPS),
            can_assign=user.has_perm(Perm.ASSIGN_LEADS),
            assignable=users_assignable_by(user) if user.has_perm(Perm.ASSIGN_LEADS) else [],
            routable_teams=teams_routable_by(user),
            stage_choices=Stage.choices,
            dead_reasons=DeadReason.chosen_by_hand(),
            # Saved searches and tags (pipeline/workspace/smart_lists.py, leads/tags.py).
            saved_searches=searches,
            own_searches=[search for search in searches if search.owner_id == user.pk],
            share_teams=list(teams_to_share_with(user)),
            bulk_tags=list(tags_usable_by(user).order_by("name")) if user.has_perm(Perm.MANAGE_FOLLOW_UPS) else [],
            # "Start an action plan" on the ticked leads (pipeline/plans/lead_views.py).
            bulk_plans=list(ActionPlan.objects.usable_by(user)) if user.has_perm(Perm.USE_PLANS) else [],
        )
        return context


# What a row shows, read from three wide tables: fifty rows of every column cost more to
# turn into models than the query.
ROW_FIELDS = ("score", "stage", "lead_type", "stage_entered_at", "next_follow_up_at", "property__street",
              "property__unit", "property__city", "property__state", "property__zip_code",
              "assigned_agent__username", "assigned_agent__first_name", "assigned_agent__last_name")
STAGE_LABELS = dict(Stage.choices)
NO_PHONES = DncStanding()
LEAD_TYPE_LABELS = dict(LeadType.choices)


def _prepare_rows(leads: list) -> None:
    """Work out every value a lead-list row shows, once here (the rows are a Jinja2
    fragment that only places them: ``jinja2/leads/lead_rows.html``)."""
    now = timezone.now()
    url_of = pk_url("leads:detail")
    owners = lead_owner_names(lead_ids=[lead.pk for lead in leads])
    dnc = dnc_standings(lead_ids=[lead.pk for lead in leads])
    for lead in leads:
        names, place = owners.get(lead.pk, []), lead.property
        lead.url = url_of(lead.pk)
        lead.owner_name = names[0] if names else ""
        lead.more_owners = len(names) - 1 if names else 0
        lead.street_line, lead.city = place.street_line, place.city
        lead.place = f"{place.city}{', ' if place.city else ''}{place.state} {place.zip_code}"
        lead.stage_label = STAGE_LABELS.get(lead.stage, lead.stage)
        lead.type_label = LEAD_TYPE_LABELS.get(lead.lead_type, lead.lead_type)
        lead.stage_age = age(lead.stage_entered_at, now)
        lead.agent_name = str(lead.assigned_agent) if lead.assigned_agent_id else ""
        due = lead.next_follow_up_at
        lead.follow_up_label = short_moment(due) if due else ""
        lead.follow_up_overdue = bool(due and due < now)
        standing = dnc.get(lead.pk, NO_PHONES)
        lead.dnc_kind, lead.dnc_label, lead.dnc_stop = standing.kind, standing.label, standing.stop


# Why a number may not be called now, in a word or two, beside it on the lead page: the
# reason that lasts longest first (a number on a list stays blocked; a clock reopens).
# The gate's findings under it give the whole reason.
NOT_CALLABLE_BECAUSE = {
    "B1": "Do not contact",
    "A6": "Litigator list",
    "A5": "On a Do Not Call list",
    "D7": "Reassigned number",
    "D4": "Needs written consent",
    "D5": "Needs written consent",
    "FC": "Not a valid number",
    "E4": "Texas registration needed",
    "A1": "DNC subscription expired",
    "A3": "DNC data out of date",
    "A4": "DNC procedures not acknowledged",
    "E2": "Attempt limit reached for now",
    "E3": "State holiday today",
    "G2": "Time zone unknown",
    "E1": "Outside calling hours",
    "D1": "Outside calling hours",
}
OWNER_DECEASED = "Owner deceased"
NOT_CALLABLE = "Not callable now"


def not_callable_because(phone) -> str:
    """The label of a good number the gate would refuse to call now ("" if callable)."""
    if phone.callable_now:
        return ""
    if phone.contact.deceased:
        return OWNER_DECEASED
    rules = {finding.rule for finding in phone.blocked_by}
    return next((label for rule, label in NOT_CALLABLE_BECAUSE.items() if rule in rules), NOT_CALLABLE)


class LeadDetailView(LoginRequiredMixin, TemplateView):
    template_name = "leads/lead_detail.html"

    def get(self, request, *args, **kwargs):
        try:
            return super().get(request, *args, **kwargs)
        except Http404:
            # A duplicate merged into another lead: its page is the survivor's now.
            survivor_url = merged_lead_survivor_url(fetched_by=request.user, pk=kwargs["pk"])
            if survivor_url is None:
                raise
            return HttpResponseRedirect(survivor_url)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        lead = lead_get(fetched_by=user, pk=kwargs["pk"])
        contacts = list(
            Contact.objects.filter(lead=lead).prefetch_related(
                Prefetch("phones", queryset=Phone.objects.order_by("position", "pk")),
                Prefetch("emails", queryset=Email.objects.order_by("position", "pk")),
            )
        )
        phones = [phone for contact in contacts for phone in contact.phones.all()]
        suppressions = phone_suppressions(numbers=[phone.number for phone in phones])
        for phone in phones:
            phone.suppressions = suppressions.get(phone.number, [])
        phone_status_now(lead=lead, phones=phones, user=user)
        # Texts need written consent naming the number (D5): said on the Text button, one query.
        consented = set(ConsentRecord.objects.not_revoked().filter(
            phone_number__in=[phone.number for phone in phones], covers_sms=True).values_list("phone_number", flat=True))
        for phone in phones:
            phone.text_consent = phone.number in consented
        for phone in phones:
            phone.not_callable_because = not_callable_because(phone)
        disclosure = role_disclosure_sentence(
            actor=user, brokerage=Brokerage.objects.current(), lead=lead
        )
        outreach_form = OutreachLogForm(lead=lead, user=user, disclosure_sentence=disclosure)
        correcting = self.request.GET.get("correct", "")
        attempt = lead.outreach_attempts.filter(pk=int(correcting)).first() if correcting.isdigit() else None
        if attempt is not None:
            outreach_form.correcting(attempt)
        scripts = call_scripts_for(user=user)
        wanted = self.request.GET.get("script", "")
        script = next((s for s in scripts if str(s.pk) == wanted), scripts[0] if scripts else None)
        activity = lead_activity(lead=lead)
        follow_ups = lead_follow_ups(lead=lead)
        now = timezone.now()
        context.update(
            scripts=scripts,
            script=script,
            script_text=render(script.body, lead=lead, agent=user, owner=contacts[0] if contacts else None)
            if script else "",
            lead=lead,
            financials=lead.financials(),
            contacts=contacts,
            now=now,
            hardships=list(lead.hardships.select_related("recorded_by")),
            liens=list(lead.liens.all()),
            lists=list(lead.lists.order_by("name")),
            follow_ups=follow_ups,
            follow_ups_overdue=sum(1 for follow_up in follow_ups.open if follow_up.due_at < now),
            activity=activity,
            last_contact=lead_last_conversation(lead=lead),
            can_note=user.has_perm(Perm.ADD_NOTES),
            deal=deal_summary(lead=lead),
            from_queue=self.request.GET.get("queue") == "1",
            # Working down the call queue, or correcting an entry: the form is what the page is for.
            keep_log_open=attempt is not None or self.request.GET.get("queue") == "1",
            can_log=user.has_perm(Perm.LOG_OUTREACH),
            can_move=user.has_perm(Perm.CHANGE_STAGE),
            outreach_form=outreach_form,
            stage_form=StageChangeForm(lead=lead),
            assignments=list(lead.assignments.select_related("to_agent", "from_agent", "to_team", "actor", "rule")[:8]),
            can_route=user.has_perm(Perm.ASSIGN_LEADS),
            assignable=users_assignable_by(user) if user.has_perm(Perm.ASSIGN_LEADS) else [],
            routable_teams=teams_routable_by(user),
            seller=seller_card(lead=lead, session=self.request.session),
            can_manage_seller=user.has_perm(Perm.MANAGE_DOCUMENTS),
            tagging=lead_tagging(lead=lead, user=user),
            merged_from=lead_merged_from(lead=lead),
            # The lead's action plans: a few queries however many steps ran (pipeline/plans/lead_selectors.py).
            plans=lead_plans_card(lead=lead, user=user, phones=phones) if user.has_perm(Perm.USE_PLANS) else None,
            # What the seller form brought in: its consent, the homeowner's other leads (pipeline/intake).
            from_form=lead_form_card(lead=lead, user=user),
        )
        # Texting from the page, and click-to-call when its route is installed (pipeline/messaging).
        if user.has_perm(Perm.LOG_OUTREACH):
            text_form, text_phones, text_templates, _ = compose_form_for(
                lead=lead, user=user, phone_id=self.request.GET.get("phone", ""))
            context.update(text_form=text_form, text_phones=text_phones, text_templates=text_templates,
                           text_open=bool(self.request.GET.get("phone") or self.request.GET.get("text")),
                           local_backend=is_local_backend(), click_to_call=click_to_call_enabled(),
                           record_calls=Brokerage.objects.current().record_calls)
        # An erased lead (docs/privacy.md#an-erased-lead) says so and offers nothing to work it.
        erased = lead.erased_at is not None
        if erased:
            context.update(
                erased_banner=ERASED_BANNER.format(date=date_format(timezone.localtime(lead.erased_at), "DATE_FORMAT"),
                                                   number=lead.erasure_request_number),
                can_log=False, can_move=False, can_route=False, can_manage_seller=False, can_note=False,
                script=None, script_text="")
        # Editing the record in place (pipeline/workspace/lead_edit_views.py).
        context.update(
            can_edit_record=user.has_perm(CHANGE_LEAD) and not erased,
            filings=list(lead.foreclosure_records.all()),
            today=timezone.localdate(now),
        )
        return context


urlpatterns = [
    path("", LeadListView.as_view(), name="list"),
    path("<int:pk>/", LeadDetailView.as_view(), name="detail"),
    path("workload/", WorkloadView.as_view(), name="workload"),
]
