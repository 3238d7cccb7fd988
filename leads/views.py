from django.contrib.auth.mixins import LoginRequiredMixin
from django.db.models import Prefetch
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.views.generic import TemplateView

from compliance.disclosures import role_disclosure_sentence
from compliance.selectors import phone_suppressions
from leadcrm.accounts.models import Brokerage
from leadcrm.accounts.roles import Perm
from leadcrm.accounts.selectors import teams_routable_by, users_assignable_by
from leadcrm.pagination import window
from pipeline.forms import OutreachLogForm, StageChangeForm
from pipeline.models import MessageTemplate, TemplateKind
from pipeline.queue import phone_status_now
from pipeline.scripts import render
from pipeline.selectors import deal_summary, lead_activity, lead_follow_ups
from pipeline.seller import seller_card

from .models import Contact, DeadReason, Email, Phone, Stage
from .selectors import lead_get, lead_list

LIST_PAGE_SIZE = 50


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
        page = window(leads, self.request.GET.get("page"), per_page=LIST_PAGE_SIZE)
        now = timezone.now()
        for lead in page.object_list:
            # Worked out once here rather than by template lookups in every row (the page
            # renders 50 rows many times a minute).
            owners = lead.contacts.all()
            lead.url = reverse("leads:detail", args=[lead.pk])
            lead.owner_name = owners[0].display_name if owners else ""
            lead.more_owners = len(owners) - 1 if owners else 0
            due = lead.next_follow_up_at
            lead.follow_up_label = date_format(timezone.localtime(due), "M j, g:i A") if due else ""
            lead.follow_up_overdue = bool(due and due < now)
        context.update(
            # The filter bar renders a dozen widgets: kept a minute per user and query, and
            # for as long as no list is added (its choices).
            filter_cache_key=f"{self.request.GET.urlencode()}:{lead_filter.lists_version}",
            filter=lead_filter,
            page=page,
            query_without_page=query.urlencode(),
            is_filtered=any(value for key, value in query.items() if key not in ("order", "status")),
            now=timezone.now(),
            # Shown from tablet width up; a phone keeps search, status, stage and sort.
            secondary_filters={"lead_type", "assigned_agent", "team", "list", "min_score", "area",
                               "auction_within", "callable"},
            can_bulk=user.has_perm(Perm.MANAGE_FOLLOW_UPS),
            can_assign=user.has_perm(Perm.ASSIGN_LEADS),
            assignable=users_assignable_by(user) if user.has_perm(Perm.ASSIGN_LEADS) else [],
            routable_teams=teams_routable_by(user),
            stage_choices=Stage.choices,
            dead_reasons=DeadReason.choices,
        )
        return context


class LeadDetailView(LoginRequiredMixin, TemplateView):
    template_name = "leads/lead_detail.html"

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
        disclosure = role_disclosure_sentence(
            actor=user, brokerage=Brokerage.objects.current(), lead=lead
        )
        outreach_form = OutreachLogForm(lead=lead, user=user, disclosure_sentence=disclosure)
        correcting = self.request.GET.get("correct", "")
        if correcting.isdigit():
            attempt = lead.outreach_attempts.filter(pk=int(correcting)).first()
            if attempt is not None:
                outreach_form.correcting(attempt)
        scripts = list(MessageTemplate.objects.usable_by(user).filter(kind=TemplateKind.CALL_SCRIPT))
        wanted = self.request.GET.get("script", "")
        script = next((s for s in scripts if str(s.pk) == wanted), scripts[0] if scripts else None)
        context.update(
            scripts=scripts,
            script=script,
            script_text=render(script.body, lead=lead, agent=user, owner=contacts[0] if contacts else None)
            if script else "",
            lead=lead,
            financials=lead.financials(),
            contacts=contacts,
            now=timezone.now(),
            quick_phones=[phone for phone in phones if phone.status == "good"],
            hardships=list(lead.hardships.select_related("recorded_by")),
            liens=list(lead.liens.all()),
            lists=list(lead.lists.order_by("name")),
            follow_ups=lead_follow_ups(lead=lead),
            activity=lead_activity(lead=lead),
            can_note=user.has_perm(Perm.ADD_NOTES),
            deal=deal_summary(lead=lead),
            from_queue=self.request.GET.get("queue") == "1",
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
        )
        return context
