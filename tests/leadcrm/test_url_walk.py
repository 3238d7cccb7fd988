"""Every URL pattern of the URLconf, discovered from ``get_resolver()``, as six kinds of user.

Nothing here lists our URLs: the walk reads every pattern (through every include, the
admin's and the API router's too), fills its kwargs from one lead's world of fixtures
(``PROVIDERS`` by kwarg name, ``PK_OF`` for the URLs whose ``pk`` names a row), and
requests it with GET and with an empty POST (the test client passes CSRF) as:

- anonymous: a login redirect, 401, 403, 404, 405 or 429, never the lead's data;
- the other agent (another team) and the other team's lead: 403/404 (or a login
  redirect, or a redirect to somewhere that refuses them) for anything about the lead,
  and no sentinel of the lead (owner's name, street, phone, loan number, document
  name) in any body, header or redirect target, on any page at all;
- the owner, the owner's team lead and the broker: never refused what is theirs.

A pattern the walk cannot fill fails ``test_every_pattern_can_be_filled`` with the
pattern and the kwarg to add. Public patterns (no login) are in ``PUBLIC`` with a reason
each; those with a token must show nothing and 404 with a wrong one. The API is walked
with its session and with token auth; exports (CSV, XLSX) with the query strings of
``QUERIES``, their files unzipped before they are searched.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.urls.resolvers import RegexPattern, RoutePattern
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.regex_helper import normalize
from django_otp.plugins.otp_totp.models import TOTPDevice

from pipeline.models import CrmImport, CrmImportRow, PlanStepRun

from ..compliance.factories import (
    ConsentRecordFactory,
    EstablishedRelationshipFactory,
    InterestDisclosureFactory,
    ReassignedNumberCheckFactory,
    RegistryLoadFactory,
    RevocationReviewFactory,
)
from ..helpers import api_key_for
from ..leads.factories import (
    ContactFactory,
    EmailFactory,
    ForeclosureRecordFactory,
    HardshipFactory,
    ImportJobFactory,
    ImportRowIssueFactory,
    LeadAssignmentFactory,
    LeadFactory,
    LeadListFactory,
    LienFactory,
    PhoneFactory,
    PropertyFactory,
    SavedSearchFactory,
    TagFactory,
)
from ..pipeline.factories import MailBatchFactory, MessageTemplateFactory, NotificationFactory

ANON, OTHER_AGENT, OTHER_LEAD, OWNER, TEAM_LEAD, BROKER = (
    "anonymous", "other agent", "other team's lead", "owner", "team lead", "broker")
ROLES = [ANON, OTHER_AGENT, OTHER_LEAD, OWNER, TEAM_LEAD, BROKER]
OUTSIDERS = {ANON, OTHER_AGENT, OTHER_LEAD}

# The lead's facts nobody outside may ever read, as they are stored and as pages print them.
OWNER_NAME = "Quillfeather"
STREET = "7319 Wyvernhollow Rd"
PHONE = "+19185550187"
LOAN_NUMBER = "WQXZ"  # stored as ****WQXZ
DOCUMENT_NAME = "Xanthoria-hardship-letter.pdf"
SENTINELS = {
    "owner's name": [OWNER_NAME.lower()],
    "street": ["wyvernhollow"],
    "phone": ["5550187", "555-0187", "555.0187", "555) 0187", "555 0187"],
    "loan number": ["****wqxz", "…wqxz", "••••wqxz"],
    "document name": ["xanthoria-hardship"],
}

WRONG_TOKEN = "not-a-real-token-Zk3"

# Patterns anyone may open, with why. A ``token`` kwarg is filled with a wrong token: the
# page must then 404 (or refuse the method) and show nothing.
PUBLIC = {
    "login": "the sign-in page",
    "logout": "signing out needs no session",
    "healthz": "the load balancer's liveness probe: says ok, nothing else",
    "healthz-live": "the same liveness probe under its own name",
    "healthz-ready": "the readiness probe: names each part and whether it answers, no one's data",
    "favicon": "a redirect to a static file",
    "api-schema": "the API's description, no one's data",
    "api-docs": "the API's documentation page, no one's data",
    "pipeline:unsubscribe": "the link in every marketing email; the token is the secret",
    "pipeline:calendar_feed": "calendar apps cannot sign in; the address is the secret",
    "pipeline:seller_page": "the homeowner's status page; the link is the secret",
    "pipeline:seller_check": "the homeowner's second factor on their page",
    "pipeline:seller_upload": "the homeowner uploads documents through their link",
    "pipeline:seller_guide_pdf": "the guide, from the homeowner's link",
    "pipeline:seller_agent_photo": "the agent's photo on the homeowner's page",
    "password_reset": "asking for a reset link by email (the same answer for any address)",
    "password_reset_done": "says a link may be on its way",
    "password_reset_confirm": "the emailed link; the token is the secret",
    "password_reset_complete": "says the new password is set",
    "admin:login": "the admin's sign-in page",
    "admin:logout": "signing out needs no session",
    "admin:jsi18n": "the admin's translations for its scripts",
    "anymail:mailgun_tracking_webhook": "the email service's reports; refused (403) without its signature",
    "anymail:mailgun_inbound_webhook": "the email service's forwarded replies; refused (403) without its signature",
    "messaging:twilio_inbound": "the provider posts inbound texts, signed (403 unsigned)",
    "messaging:twilio_status": "the provider posts delivery reports, signed (403 unsigned)",
    "messaging:twilio_voice": "the provider posts a call to our numbers, signed (403 unsigned)",
    "messaging:twilio_voice_menu": "the provider posts the caller's key (1: stop), signed (403 unsigned)",
    "messaging:twilio_voice_dialled": "the provider posts the forwarded leg's end, signed (403 unsigned)",
    "messaging:twilio_voicemail": "the provider posts the caller's voicemail, signed (403 unsigned)",
    "messaging:twilio_transcription": "the provider posts a voicemail's transcript, signed (403 unsigned)",
    "intake:public": "the seller form homeowners fill in; a wrong key is a 404",
}

# For a URL whose ``pk`` is a row: which fixture (``World`` attribute) it names.
PK_OF = {
    "leads:detail": "lead",
    "leads:route": "lead",
    "leads:pond_claim": "lead",
    "leads:pond_assign": "lead",
    "leads:departure": "owner",
    "leads:import_detail": "import_job",
    "leads:import_map": "import_draft",
    "leads:import_cancel": "import_job",
    "leads:import_report": "import_job",
    "pipeline:outreach_log": "lead",
    "pipeline:outreach_preview": "lead",
    "pipeline:stage_change": "lead",
    "pipeline:note_add": "lead",
    "pipeline:follow_up_done": "follow_up",
    "pipeline:script_edit": "own_script",
    "pipeline:mail_batch": "mail_batch",
    "pipeline:lenders": "lead",
    "pipeline:documents": "lead",
    "pipeline:offers": "lead",
    "pipeline:document_download": "document",
    "pipeline:notification_open": "notification",
    "pipeline:export_download": "lead_export",
    "pipeline:seller_link": "lead",
    "pipeline:seller_preview": "lead",
    "pipeline:briefing": "lead",
    "pipeline:lead_tag_add": "lead",
    "pipeline:lead_tag_remove": "lead",
    "pipeline:search_edit": "saved_search",
    "pipeline:lead_merge": "lead",
    "pipeline:lead_merges": "lead",
    "compliance:registry_load": "registry_load",
    "compliance:review_decide": "revocation_review",
    "compliance:evidence": "lead",
    "compliance:relationship_terminate": "lead",
    "compliance:evidence_file": "evidence_file",
    "api:lead-detail": "lead",
    "api:lead-move": "lead",
    "api:lead-stage-changes": "lead",
    "api:follow-up-detail": "follow_up",
    "api:follow-up-done": "follow_up",
    "api:outreach-detail": "outreach_attempt",
    "api:import-detail": "import_job",
    # Action plans through the API: the agent's own plan, the lead's enrollment in it.
    "api:plan-detail": "own_plan",
    "api:plan-enroll": "own_plan",
    "api:plan-unenroll": "own_plan",
    "api:plan-enrollment-detail": "plan_enrollment",
    # People through the API: the lead's agent, and the team the lead is on.
    "api:user-detail": "owner",
    "api:team-detail": "team",
    # The API's own keys: a user's token is theirs alone; integration keys a broker's.
    "api:token-detail": "api_token",
    "api:integration-key-detail": "integration_key",
    "admin:otp_totp_totpdevice_config": "totp_device",
    "admin:otp_totp_totpdevice_qrcode": "totp_device",
    # Editing the lead's record in place: ``pk`` is the lead, or the row edited.
    "pipeline:edit_property": "lead",
    "pipeline:owner_add": "lead",
    "pipeline:owner_edit": "contact",
    "pipeline:owner_remove": "contact",
    "pipeline:phone_add": "contact",
    "pipeline:email_add": "contact",
    "pipeline:phone_edit": "phone",
    "pipeline:phone_primary": "phone",
    "pipeline:email_edit": "email",
    "pipeline:email_primary": "email",
    "pipeline:hardship_add": "lead",
    "pipeline:hardship_edit": "hardship",
    "pipeline:lien_add": "lead",
    "pipeline:lien_edit": "lien",
    "pipeline:lien_remove": "lien",
    "pipeline:filing_add": "lead",
    "pipeline:filing_edit": "foreclosure",
    "pipeline:filing_remove": "foreclosure",
    "api:lead-edit-property": "lead",
    "api:lead-add-contact": "lead",
    "api:lead-contact": "lead",
    "api:lead-add-phone": "lead",
    "api:lead-phone": "lead",
    "api:lead-add-email": "lead",
    "api:lead-email": "lead",
    "api:lead-add-hardship": "lead",
    "api:lead-hardship": "lead",
    "api:lead-add-lien": "lead",
    "api:lead-lien": "lead",
    "api:lead-add-foreclosure-record": "lead",
    "api:lead-foreclosure-record": "lead",
    # A lead's offers, notes and timeline through the API: ``pk`` is the lead.
    "api:lead-offers": "lead",
    "api:lead-offer": "lead",
    "api:lead-notes": "lead",
    "api:lead-timeline": "lead",
    # Texts and calls through the provider: the lead's, or one call placed on it.
    "messaging:call_start": "lead",
    "messaging:twilio_status": "call_webhook",
    "messaging:call_bridge": "call_webhook",
    "messaging:call_announcement": "call_webhook",
    "messaging:call_status": "call",
    "messaging:call_result": "call",
    "messaging:call_local_finish": "call",
    # Texts through the provider: compose on the lead, a sent text, the inbox.
    "messaging:text_compose": "lead",
    "messaging:text_preview": "lead",
    "messaging:message_status": "text_message",
    "messaging:play_reply": "text_message",
    "messaging:inbox_file": "inbox_text",
    "messaging:inbox_dismiss": "inbox_text",
    # A plan's automations (``plan_pk``: the owner's own plan): one of the owner's automations.
    "plans:automation_edit": "own_automation",
    "plans:automation_pause": "own_automation",
    "plans:automation_resume": "own_automation",
    "plans:automation_delete": "own_automation",
    # A lead's action plans: ``pk`` is the lead; the enrollment and the run are the lead's own.
    "plans:lead": "lead",
    "plans:lead_start": "lead",
    "plans:lead_pause": "lead",
    "plans:lead_resume": "lead",
    "plans:lead_stop": "lead",
    "plans:lead_letter": "lead",
    "plans:lead_letter_mailed": "lead",
    # Action plans: an agent's own plan (the lead is in it).
    "plans:detail": "own_plan",
    "plans:edit": "own_plan",
    "plans:delete": "own_plan",
    "plans:copy": "own_plan",
    # Seller forms: the brokerage's, made and embedded by brokers.
    "intake:detail": "seller_form",
    "intake:edit": "seller_form",
    "intake:rotate": "seller_form",
    # Outgoing webhooks: the broker's endpoint, and its delivery about the lead.
    "webhooks:detail": "webhook_endpoint",
    "webhooks:edit": "webhook_endpoint",
    "webhooks:reveal": "webhook_endpoint",
    "webhooks:rotate": "webhook_endpoint",
    "webhooks:ping": "webhook_endpoint",
    "webhooks:enable": "webhook_endpoint",
    "webhooks:disable": "webhook_endpoint",
    "webhooks:redeliver": "webhook_delivery",
    # Moving in from another CRM: an import (the broker's), one waiting for its mapping.
    "moving_in:detail": "crm_import",
    "moving_in:report": "crm_import",
    "moving_in:mapping": "crm_import_mapping",
}
# The API's unversioned paths are aliases of its /api/v1/ ones (docs/architecture.md#api-versioning):
# each names what its v1 name does, so the walk covers both.
PK_OF.update({f"api-unversioned:{name.removeprefix('api:')}": about
              for name, about in list(PK_OF.items()) if name.startswith("api:")})

# Who may use a row besides the roles that see its lead (owner, team lead, broker).
ENTITLED_TO = {
    "import_job": {OWNER, BROKER},  # an import is its importer's (and the broker's) business
    "import_draft": {OWNER, BROKER},
    "own_script": {OWNER},  # an agent's own script
    "own_plan": {OWNER},  # an agent's own action plan is theirs to use (the API lists plans usable by the caller)
    "mail_batch": {OWNER},  # the letters an agent printed are theirs alone
    "notification": {OWNER},  # a notification is its recipient's alone
    "api_token": {OWNER},  # a token is its user's alone
    "integration_key": {BROKER},  # the brokerage's integration keys are the broker's
    "saved_search": {OWNER},  # a saved search is changed by its owner alone, even shared
    "lead_export": {OWNER},  # an export's file is its requester's alone
    "owner": set(),  # a departure page is about a person, not a lead
    "registry_load": set(),  # brokerage data, not a lead's
    "totp_device": set(),  # a second factor's secret: the admin's superusers alone
    "call_webhook": set(),  # the provider's reports: only a request it signed (never a session)
    "inbox_text": {TEAM_LEAD, BROKER},  # nobody's lead matched it: team leads and brokers file it
    "own_automation": {OWNER},  # an agent's automation starts their own plan on their own leads
    "seller_form": {BROKER},  # the brokerage's public forms: brokers make and embed them
    "webhook_endpoint": {BROKER},  # a broker's webhook and its secret are that broker's alone
    "webhook_delivery": {BROKER},
    "crm_import": {BROKER},  # moving a CRM in is the broker's alone (docs/moving-in.md#who)
    "crm_import_mapping": {BROKER},
    "team": {TEAM_LEAD, BROKER},  # a team is its team lead's (and the broker's) to read
}
# Pages about the lead that a role may still not use (agents do not route or decide reviews).
ROLE_GATED = {
    "leads:route": {TEAM_LEAD, BROKER},
    "leads:pond_assign": {TEAM_LEAD, BROKER},
    "compliance:review_decide": {TEAM_LEAD, BROKER},
}
# Refusals to outsiders that answer with a redirect to a page of their own (which the walk
# follows and searches): why each is not a 403/404.
POLITE_REFUSALS = {
    "leads:pond_claim": "a lead not in the pond (or not yours to see) is the same 'no longer in the pond' message",
    # A text nobody's lead matched is every team lead's to file: the other team's lead is
    # sent back to the inbox (searched like every page), never shown this lead.
    "messaging:inbox_file": "an inbox text is any team lead's; filing it on an unseen lead is a 404",
    "messaging:inbox_dismiss": "an inbox text is any team lead's; back to the inbox",
}

# Query strings walked beside the bare URL: the exports.
QUERIES = {
    "reports:report": [{"format": "csv"}, {"format": "xlsx"}],
    "compliance:checks_export": [{"start": "2026-11-01", "end": "2026-11-30"}],
    # searches for the lead's street and phone (never spelled out whole: the box echoes them)
    "leads:list": [{"q": "Wyvernhol"}, {"q": "555018"}],
    # the lead list's export: an outsider's file, even filtered to the lead's agent, holds none of it
    "pipeline:lead_export": [{"format": "csv"}, {"format": "xlsx"}, {"format": "csv", "q": "Wyvernhol"}],
}


def _providers():
    """kwarg name -> a function of the world and the pattern giving the values to walk."""
    from pipeline.reports.registry import REPORTS

    return {
        "pk": lambda world, route: [getattr(world, PK_OF[route.name]).pk] if route.name in PK_OF else None,
        "token": lambda world, route: [WRONG_TOKEN],
        # A seller form's public key: a wrong one (the page must be a 404).
        "key": lambda world, route: [WRONG_TOKEN],
        # A lead source's own id for a lead (the upsert): answered only to the source's key.
        "external_id": lambda world, route: ["walk-1"],
        # the password reset link's user: the broker's (the token is still the wrong one)
        "uidb64": lambda world, route: [urlsafe_base64_encode(force_bytes(world.broker.pk))],
        "slug": lambda world, route: list(REPORTS) + ["no-such-report"],
        "format": lambda world, route: ["json"],
        "object_id": lambda world, route: world.admin_object_id(route),
        "content_type_id": lambda world, route: [ContentType.objects.get_for_model(world.lead).pk],
        "id": lambda world, route: [world.broker.pk],  # a user's password page: the broker's
        "app_label": lambda world, route: ["leads", "pipeline", "compliance"],
        "url": lambda world, route: [f"leads/lead/{world.lead.pk}/change"],  # the admin's catch-all
        # The API's edits of a lead's rows, under the lead: the lead's own rows.
        "contact_id": lambda world, route: [world.contact.pk],
        "phone_id": lambda world, route: [world.phone.pk],
        "email_id": lambda world, route: [world.email.pk],
        "hardship_id": lambda world, route: [world.hardship.pk],
        "lien_id": lambda world, route: [world.lien.pk],
        "record_id": lambda world, route: [world.foreclosure.pk],
        "offer_id": lambda world, route: [world.offer.pk],
        # A relationship's ending (C2), under its lead: the lead's own relationship.
        "relationship": lambda world, route: [world.relationship.pk],
        # A lead's action plan and a letter step's run, under the lead: the lead's own.
        "enrollment": lambda world, route: [world.plan_enrollment.pk],
        "run": lambda world, route: [world.plan_letter_run.pk],
        # A version in a row's history (django-simple-history's admin): the lead's row's latest.
        # A plan's automations: the owner's own plan.
        "plan_pk": lambda world, route: [world.automation_plan.pk],
        "version_id": lambda world, route: [
            admin_model(route).history.filter(id=object_id).latest("history_date").history_id
            for object_id in world.admin_object_id(route) or []],
    }


# Discovery ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """One URL pattern with the chain of patterns above it."""

    chain: tuple
    name: str
    callback: object = field(compare=False)

    @property
    def label(self) -> str:
        route = "".join(str(pattern) for pattern in self.chain)
        return f"{self.name or '(unnamed)'} [{route}]"

    @property
    def kwargs(self) -> list[str]:
        names = []
        for pattern in self.chain:
            if isinstance(pattern, RoutePattern):
                names += list(pattern.converters)
            elif isinstance(pattern, RegexPattern):
                names += list(pattern.regex.groupindex)
        return names

    @property
    def is_admin(self) -> bool:
        return self.label.split("[", 1)[1].startswith("admin/") and not self.name.startswith(("reports:", "privacy:"))

    @property
    def is_api(self) -> bool:
        return self.label.split("[", 1)[1].startswith("api/")

    def url(self, values: dict) -> str:
        parts = []
        for pattern in self.chain:
            if isinstance(pattern, RoutePattern):
                def fill(match, pattern=pattern):
                    name = match.group("parameter")
                    return str(pattern.converters[name].to_url(values[name]))

                parts.append(re.sub(r"<(?:(?P<converter>[^>:]+):)?(?P<parameter>[^>]+)>", fill, str(pattern)))
            else:
                wanted = set(pattern.regex.groupindex)
                for template, params in normalize(pattern.regex.pattern):
                    if set(params) == wanted:
                        parts.append(template % {name: values[name] for name in params})
                        break
        return "/" + "".join(parts)


def discover(resolver=None, chain=(), namespace="") -> list[Route]:
    routes = []
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            routes += discover(pattern, chain + (pattern.pattern,), inner)
        elif isinstance(pattern, URLPattern):
            name = namespace + pattern.name if pattern.name else ""
            routes.append(Route(chain=chain + (pattern.pattern,), name=name, callback=pattern.callback))
    return routes


def admin_model(route: Route):
    """The model an admin pattern is about (from its place under /admin/<app>/<model>/)."""
    prefix = "".join(str(pattern) for pattern in route.chain[:2])
    for model in admin.site._registry:
        if prefix == f"admin/{model._meta.app_label}/{model._meta.model_name}/":
            return model
    return None


def is_lead_bearing(model) -> bool:
    return hasattr(model._default_manager.all(), "visible_to")


def test_discovery_finds_every_kind_of_pattern():
    routes = discover()
    names = {route.name for route in routes}
    # includes, the API's router, the admin and its models, the reports under it
    assert {"leads:detail", "api:lead-detail", "admin:leads_lead_change", "reports:report", "login"} <= names
    assert len(routes) > 400
    lead_bearing = {admin_model(route) for route in routes if route.is_admin and admin_model(route)}
    assert {m.__name__ for m in lead_bearing if is_lead_bearing(m)} >= {"Lead", "Lien", "DocumentUpload", "Phone"}


def test_every_pattern_can_be_filled():
    """Without a database: every kwarg has a provider, every pk a fixture named in PK_OF."""
    providers = _providers()
    missing = []
    for route in discover():
        for kwarg in route.kwargs:
            if kwarg not in providers:
                missing.append(f"{route.label}: no provider for kwarg {kwarg!r}; add one to _providers()")
            elif kwarg == "pk" and route.name not in PK_OF:
                missing.append(f"{route.label}: kwarg 'pk' names no fixture; add {route.name!r} to PK_OF")
    assert not missing, "\n".join(missing)


def test_every_url_name_in_the_walks_tables_still_exists():
    names = {route.name for route in discover()}
    stale = (set(PUBLIC) | set(PK_OF) | set(ROLE_GATED) | set(POLITE_REFUSALS) | set(QUERIES)) - names
    assert not stale, f"no such URL any more, remove from the walk's tables: {sorted(stale)}"


# The lead's world --------------------------------------------------------------------------


class World:
    """One lead owned by agent A on team T, with a row of everything that hangs off it."""

    def __init__(self, *, agent, team, team_lead, other_agent, other_team, broker, registry):
        from compliance.evidence import consent_record, evidence_revoke
        from compliance.services import internal_dnc_add, relationship_terminate
        from leads.models import ImportStatus, LeadTag
        from leads.services import lead_assign, lead_list_add
        from pipeline.deals.documents import document_upload
        from pipeline.deals.fees import fee_record
        from pipeline.deals.lenders import (
            approval_letter_record,
            lender_file_for,
            milestone_record,
            negotiator_assign,
        )
        from pipeline.deals.offers import offer_create
        from pipeline.deals.services import lead_stage_change
        from pipeline.models import (
            CalendarFeed,
            ChecklistItem,
            FollowUp,
            Message,
            SellerBriefing,
            SellerEvent,
            SellerLink,
        )
        from pipeline.outreach.services import lead_note_add, outreach_log
        from pipeline.plans.automations import automation_save
        from pipeline.plans.services import StepInput, plan_save
        from pipeline.reminders.services import follow_up_create
        from pipeline.seller.access import seller_link_create
        from pipeline.seller.briefings import seller_briefings_set
        from pipeline.workspace.exports import lead_export_request, lead_export_run

        self.owner, self.team_lead, self.broker = agent, team_lead, broker
        self.team = team
        # The broker's authenticator app (its admin pages show its secret: superusers only).
        self.totp_device = TOTPDevice.objects.create(user=broker, name="Walk", confirmed=True)
        self.other_agent, self.other_team_lead = other_agent, other_team.lead
        self.lead = LeadFactory(assigned_agent=agent, team=team,
                                property=PropertyFactory(street=STREET, city="Tulsa", zip_code="74130"))
        lead = self.lead
        self.contact = ContactFactory(lead=lead, first_name="Zenobia", last_name=OWNER_NAME)
        self.phone = PhoneFactory(contact=self.contact, number=PHONE)
        self.email = EmailFactory(contact=self.contact, address="zenobia.quillfeather@example.com")
        self.hardship = HardshipFactory(lead=lead, narrative=f"{OWNER_NAME} lost a job.")
        self.lien = LienFactory(lead=lead, lender="Wyvern Servicing", loan_number_masked=f"****{LOAN_NUMBER}")
        self.foreclosure = ForeclosureRecordFactory(lead=lead, recording_date=date(2026, 10, 1),
                                                    lender="Wyvern Servicing")
        self.lead_list = LeadListFactory(created_by=agent)
        self.list_membership = lead_list_add(lead=lead, lead_list=self.lead_list)
        lead_assign(lead=lead, agent=agent, team=team, actor=broker, reason="walk")
        self.lead.refresh_from_db()
        # other agent B has a lead of their own, so their pages have something in them
        theirs = LeadFactory(assigned_agent=other_agent, team=other_team)
        PhoneFactory(contact=ContactFactory(lead=theirs), number="+18505550147")

        self.follow_up = follow_up_create(lead=lead, assignee=agent, title=f"Call {OWNER_NAME} back",
                                          due_at=timezone.now() + timedelta(days=1))
        self.outreach_attempt = outreach_log(lead=lead, channel="call", contact_point=self.phone,
                                             outcome="talked", actor=agent, role_disclosed=True,
                                             purpose="short_sale_listing")
        lead_stage_change(lead=lead, to_stage="contact", actor=agent)
        self.note = lead_note_add(lead=lead, author=agent, body=f"Spoke to {OWNER_NAME}.")
        self.lender_file = lender_file_for(lien=self.lien)
        self.negotiator = negotiator_assign(lien=self.lien, name="Nell Negotiator", assigned_on=date(2026, 11, 2),
                                            actor=agent)
        self.milestone = milestone_record(lien=self.lien, kind="package_submitted", occurred_on=date(2026, 11, 3),
                                          actor=agent)
        self.approval = approval_letter_record(lien=self.lien, issued_on=date(2026, 11, 10),
                                               expires_on=date(2026, 12, 10), actor=agent)
        self.document = document_upload(lead=lead, kind="hardship_letter", actor=agent,
                                         file=SimpleUploadedFile(DOCUMENT_NAME, b"%PDF-1.4 hardship letter"))
        self.checklist_item = ChecklistItem.objects.filter(lead=lead).first()
        self.offer = offer_create(lead=lead, actor=agent, buyer_name="Bo Buyer", price=Decimal("210000"),
                                  financing="cash", received_on=date(2026, 11, 12))
        self.fee = fee_record(lead=lead, actor=agent, service="short_sale_listing", amount=Decimal("495"))
        self.internal_dnc = internal_dnc_add(phone_number=PHONE, channel="call", recorded_by=agent, lead=lead,
                                             homeowner_words=f"{OWNER_NAME}: stop calling")
        self.consent = ConsentRecordFactory(phone=self.phone)
        self.relationship = EstablishedRelationshipFactory(phone=self.phone)
        self.relationship_termination = relationship_terminate(  # its ending (C2)
            relationship=self.relationship, lead=lead, terminated_on=timezone.localdate(), shown_by="said",
            recorded_by=agent)
        self.disclosure = InterestDisclosureFactory(lead=lead)
        self.revocation_review = RevocationReviewFactory(lead=lead, phone_number=PHONE)
        self.registry_load = RegistryLoadFactory(source=registry)
        self.import_job = ImportJobFactory(lead_list=self.lead_list, created_by=agent, status=ImportStatus.DONE,
                                           headers=["Address", "Owner"], columns={"street": "Address"})
        ImportRowIssueFactory(job=self.import_job, row={"Address": STREET, "Owner": OWNER_NAME})
        self.import_draft = ImportJobFactory(lead_list=self.lead_list, created_by=agent, status=ImportStatus.DRAFT)
        self.crm_import = CrmImport.objects.create(system="followupboss", file_name="people.csv", stored_file="x",
                                                   created_by=self.broker, status="done", leads_created=1)
        CrmImportRow.objects.create(job=self.crm_import, file="people", row_number=2, external_id="101",
                                    outcome="left_out", reason=f"Phone 2: {PHONE} for {OWNER_NAME}", lead=lead)
        self.crm_import_mapping = CrmImport.objects.create(
            system="podio", file_name="leads.csv", stored_file="y", created_by=self.broker, status="mapping",
            unmapped_stages=["New Lead"], unmapped_agents=[])
        self.call = Message.objects.create(channel="call", direction="outbound", provider="local", lead=lead,
                                           agent=agent, from_address="+15005550006", to_address=PHONE,
                                           status="ringing", provider_id="LCwalk")
        self.call_webhook = self.call
        self.notification = NotificationFactory(recipient=agent, title=f"Call {OWNER_NAME}", url=f"/leads/{lead.pk}/",
                                                lead=lead)
        self.own_script = MessageTemplateFactory(kind="text", owner=agent)
        self.mail_batch = MailBatchFactory(
            agent=agent, letters=[{"lead": lead.pk, "owners": [self.contact.pk], "status": "logged", "reason": ""}])
        self.calendar_feed = CalendarFeed.objects.filter(user=agent).first()
        self.lead_export = lead_export_run(export_id=lead_export_request(
            requested_by=agent, filters={}, format="xlsx").pk)
        seller_link_create(lead=lead, actor=agent)
        seller_briefings_set(lead=lead, actor=agent, told={"timeline": date(2026, 11, 5)})
        self.seller_link = SellerLink.objects.get(lead=lead)
        self.seller_event = SellerEvent.objects.filter(lead=lead).first()
        self.seller_briefing = SellerBriefing.objects.filter(lead=lead).first()
        # The broker's webhook and a delivery about the lead (what was sent names the street).
        from pipeline.models import WebhookDelivery
        from pipeline.webhooks.payloads import lead_data
        from pipeline.webhooks.services import endpoint_create

        self.webhook_endpoint = endpoint_create(owner=broker, url="https://hooks.example.com/walk",
                                                events=["lead.created"])
        self.webhook_delivery = WebhookDelivery.objects.create(
            endpoint=self.webhook_endpoint, event="lead.created", event_key=f"lead.created:{lead.pk}", lead=lead,
            occurred_at=timezone.now(), created_at=timezone.now(), data={"lead": lead_data(lead)}, status="given_up")
        self.assignment = LeadAssignmentFactory(lead=lead, to_team=team, actor=broker, reason="walk")
        self.reassigned_check = ReassignedNumberCheckFactory(phone=self.phone)
        # The lead's consent and records: a proof uploaded on the lead page, a broker's revocation.
        self.evidence_file = consent_record(
            lead=lead, phone_number=PHONE, consent_text=f"I, {OWNER_NAME}, agree to texts.", method="signed form",
            obtained_at=timezone.now() - timedelta(days=2), covers_sms=True, recorded_by=agent,
            proof_file=SimpleUploadedFile(f"{OWNER_NAME}-consent.pdf", b"%PDF-1.4 consent"),
        ).proof_file
        self.evidence_revocation = evidence_revoke(lead=lead, record=self.relationship, reason="Wrong number.",
                                                   revoked_by=broker)
        self.tag = TagFactory(name="Walk tag", team=team)
        self.lead_tag = LeadTag.objects.create(lead=lead, tag=self.tag, added_by=agent)
        self.saved_search = SavedSearchFactory(owner=agent, team=team, query=f"q={STREET[:9]}")
        self.text_message = Message.objects.create(
            channel="sms", direction="outbound", provider="local", lead=lead, agent=agent,
            from_address="+15005550006", to_address=PHONE, body=f"Hi {OWNER_NAME}, about {STREET}.",
            status="delivered")
        # The owner's own plan and an automation that starts it (the automations' pages).
        self.automation_plan = plan_save(actor=agent, name="Walk plan", steps=[
            StepInput(kind="task", task_kind="call", subject="Call [First Name]")])
        self.own_plan = self.automation_plan  # the plans API's own plan
        self.own_automation = automation_save(actor=agent, plan=self.automation_plan, trigger="tag_added", tag=self.tag)
        # The lead in an action plan, with a letter step waiting to be mailed.
        from pipeline.plans.services import lead_enroll

        walk_plan = plan_save(actor=agent, name="Walk letters", steps=[
            StepInput(kind="letter", body="We are here when you need us."),
            StepInput(kind="task", task_kind="call", subject="Call them", delay_days=3)])
        self.plan_enrollment = lead_enroll(lead=lead, plan=walk_plan, actor=agent)
        self.plan_letter_run = PlanStepRun.objects.create(
            enrollment=self.plan_enrollment, step=walk_plan.steps.first(), lead=lead, position=0, kind="letter",
            title="Step 1: print a letter", status="task", due_at=timezone.now(), agent=agent)
        self.existing = {type(obj): obj for obj in vars(self).values() if hasattr(obj, "_meta")}
        # The brokerage's seller form (pipeline/intake): the broker's pages about it.
        from pipeline.intake.services import default_consent_text, seller_form_save

        self.seller_form = seller_form_save(actor=broker, name="Walk form", consent_text=default_consent_text(),
                                            thank_you_text="Thank you.")
        # Nobody's lead: not a row of the lead for the admin's pages.
        self.inbox_text = Message.objects.create(
            channel="sms", direction="inbound", provider="local", provider_id="SMwalk", from_address="+14045550288",
            to_address="+15005550006", body="Who is this?", status="received", inbox_state="unmatched")
        self.existing.update({FollowUp: self.follow_up})
        # The owner's own API token and the brokerage's integration key (pipeline/api/tokens.py).
        from leadcrm.accounts.tokens import ALL_SCOPES
        from pipeline.api.services import api_token_create, integration_key_create

        self.api_token = api_token_create(user=agent, name="Walk token", scopes=ALL_SCOPES)[0]
        self.integration_key = integration_key_create(created_by=broker, name="Walk zap", scopes=["read"])[0]

    def admin_object_id(self, route: Route):
        model = admin_model(route)
        if model is None:  # admin:view_on_site
            return [self.lead.pk]
        obj = self.existing.get(model) or _first_row_of(model, self)
        if obj is None:
            # A lead's row the walk lacks fails it; the brokerage's own tables may be empty.
            return None if is_lead_bearing(model) else ["0"]
        return [obj.pk]


def _first_row_of(model, world):
    """A row of a lead-bearing model is the lead's (or nothing: the walk then fails); any
    row of the brokerage's other tables will do."""
    queryset = model._default_manager.all()
    if is_lead_bearing(model):
        return queryset.filter(pk__in=queryset.visible_to(world.owner).values("pk")).order_by("pk").first()
    return queryset.order_by("pk").first()


# The walk ------------------------------------------------------------------------------------


def body_of(response) -> str:
    if getattr(response, "streaming", False):
        raw = b"".join(response.streaming_content)
    else:
        raw = response.content
    if raw[:4] == b"PK\x03\x04":  # XLSX and other zips: search what is inside
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            raw = b"".join(archive.read(name) for name in archive.namelist())
    text = raw.decode("utf-8", "replace")
    headers = " ".join(f"{key}: {value}" for key, value in response.headers.items())
    return f"{headers}\n{text}".lower()


def leaked(text: str) -> list[str]:
    return [what for what, needles in SENTINELS.items() if any(needle in text for needle in needles)]


INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*type=\"application/(?:ld\+)?json\")[^>]*>")
EVENT_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.IGNORECASE)


def csp_problems(response, text: str) -> list[str]:
    """Every page carries the Content Security Policy and has nothing inline it would block."""
    problems = []
    policy = response.get("Content-Security-Policy", "")
    if "script-src" not in policy and "default-src 'none'" not in policy:
        problems.append("no Content-Security-Policy limiting scripts")
    elif "'unsafe-inline'" not in policy.split("script-src", 1)[-1].split(";")[0]:
        if INLINE_SCRIPT.search(text):
            problems.append(f"an inline script the policy blocks: {INLINE_SCRIPT.search(text).group(0)[:80]}")
        if EVENT_HANDLER.search(text):
            problems.append(f"an inline event handler the policy blocks: {EVENT_HANDLER.search(text).group(0)[:80]}")
    return problems


def is_login_redirect(response) -> bool:
    return response.status_code in (301, 302, 303, 307, 308) and any(
        response["Location"].split("?")[0].endswith(path) for path in ("/accounts/login/", "/admin/login/"))


REFUSED = {401, 403, 404, 405, 429}
# Admin views that only read (a POST to them is a GET): walked with GET alone, for speed, as
# are the admin's pages of the brokerage's own tables (no lead hangs off them).
ADMIN_READS = {"history_view", "view", "app_index", "index", "i18n_javascript", "autocomplete_view", "shortcut",
               "catch_all_view"}


@dataclass
class Walker:
    world: World
    role: str
    client: Client
    token: str | None = None
    problems: list = field(default_factory=list)
    requests: int = 0

    def request(self, method: str, url: str, query: dict | None) -> tuple:
        extra = {"HTTP_AUTHORIZATION": f"Token {self.token}"} if self.token else {}
        try:
            if method == "get":
                response = self.client.get(url, query or {}, **extra)
            else:
                response = self.client.post(url, {}, **extra)
        except Exception as error:  # a crash is a finding too; keep walking
            self.problems.append(f"{method.upper()} {url} {query or ''} as {self.role}: raised {error!r}")
            return None, ""
        self.requests += 1
        return response, body_of(response)

    def check(self, route: Route, url: str, method: str, query: dict | None, about: str | None) -> None:
        response, text = self.request(method, url, query)
        if response is None:
            return
        where = f"{method.upper()} {url}{'?' + str(query) if query else ''} ({route.name or route.label}) as {self.role}"
        status = response.status_code
        if status >= 500:
            self.problems.append(f"{where}: {status}")
            return
        if "text/html" in response.get("Content-Type", ""):
            self.problems += [f"{where}: {problem}" for problem in csp_problems(response, text)]
        if self.role in OUTSIDERS:
            found = leaked(text)
            if status in (301, 302, 303, 307, 308) and not is_login_redirect(response):
                followed = self.client.get(response["Location"])
                found += leaked(body_of(followed))
                if about and route.name not in POLITE_REFUSALS and followed.status_code not in REFUSED \
                        and not is_login_redirect(followed):
                    self.problems.append(f"{where}: {status} to {response['Location']}, which answered "
                                         f"{followed.status_code}: refuse the lead's URL instead")
            elif about and status not in REFUSED and not is_login_redirect(response) and not (
                    route.name in PUBLIC and status in (200, 204)):
                self.problems.append(f"{where}: {status}; someone who may not see the lead must get 403/404")
            if found:
                self.problems.append(f"{where}: {status} shows the lead's {', '.join(sorted(set(found)))}")
            if self.role == ANON and route.name not in PUBLIC and not (
                    status in REFUSED or is_login_redirect(response)):
                self.problems.append(f"{where}: {status}; anonymous must be sent to sign in or refused")
            if self.role == ANON and "token" in route.kwargs and status not in (404, 405):
                self.problems.append(f"{where}: {status} for a wrong token; must be a 404 showing nothing")
            return
        entitled = ENTITLED_TO.get(about, {OWNER, TEAM_LEAD, BROKER}) if about else set()
        entitled &= ROLE_GATED.get(route.name, set(ROLES))
        if self.role in entitled and (status in (401, 403, 404) and not (status == 403 and route.is_admin)):
            self.problems.append(f"{where}: {status}; the {self.role} may use this lead's page")


def _ensure_signed_in(walker: Walker, user) -> None:
    # An empty POST to a sign-out URL ends the session; sign back in for the rest of the walk.
    if walker.token is None and "_auth_user_id" not in walker.client.session:
        walker.client.force_login(user)


def fillings(route: Route, world: World, providers) -> tuple[list[dict], str | None, str | None]:
    """The kwargs to walk this route with, which fixture it is about, or why it cannot be filled."""
    values: dict[str, list] = {}
    about = None
    for kwarg in route.kwargs:
        provider = providers.get(kwarg)
        found = provider(world, route) if provider else None
        if not found:
            hint = f"add {route.name!r} to PK_OF" if kwarg == "pk" else "add a provider to _providers()"
            if kwarg == "object_id":
                hint = f"add a {admin_model(route).__name__} of the lead to World"
            return [], None, f"{route.label}: cannot fill kwarg {kwarg!r}: {hint}"
        values[kwarg] = found
        if kwarg == "pk":
            about = PK_OF[route.name]
        elif kwarg == "object_id" and route.is_admin and admin_model(route) is not None:
            about = "lead" if is_lead_bearing(admin_model(route)) else None
        elif kwarg == "url" and route.is_admin:
            about = "lead"
    combos = [{}]
    for kwarg, options in values.items():
        combos = [dict(combo, **{kwarg: option}) for combo in combos for option in options]
    return combos, about, None


@pytest.fixture
def world(agent, team, team_lead, other_agent, other_team, broker, national_registry):
    return World(agent=agent, team=team, team_lead=team_lead, other_agent=other_agent, other_team=other_team,
                 broker=broker, registry=national_registry)


def walk(world: World, role: str, *, token_auth: bool = False) -> Walker:
    user = {ANON: None, OTHER_AGENT: world.other_agent, OTHER_LEAD: world.other_team_lead, OWNER: world.owner,
            TEAM_LEAD: world.team_lead, BROKER: world.broker}[role]
    client = Client()
    token = None
    if token_auth:
        token = api_key_for(user) if user else WRONG_TOKEN
    elif user is not None:
        client.force_login(user)
    walker = Walker(world=world, role=role, client=client, token=token)
    providers = _providers()
    # The admin first: an empty POST to some of our pages clears a row (a seller's
    # briefing topics) that the admin's pages would then miss.
    for route in sorted(discover(), key=lambda route: not route.is_admin):
        if token_auth and not route.is_api:
            continue
        model = admin_model(route) if route.is_admin else None
        if role in (OWNER, TEAM_LEAD) and model is not None and not is_lead_bearing(model):
            continue  # the brokerage's own tables: walked by the outsiders and the broker
        reads_only = route.is_admin and (getattr(route.callback, "__name__", "") in ADMIN_READS or (
            model is not None and not is_lead_bearing(model)))
        methods = ("get",) if reads_only else ("get", "post")
        combos, about, problem = fillings(route, world, providers)
        if problem:
            walker.problems.append(problem)
            continue
        for values in combos:
            url = route.url(values)
            match = resolve(url.split("?")[0])
            if match.func is not route.callback:
                walker.problems.append(f"{route.label}: built {url}, which resolves to {match.view_name}")
                continue
            walks = [(method, None) for method in methods] + [("get", query) for query in QUERIES.get(route.name, [])]
            for method, query in walks:
                walker.check(route, url, method, query, about)
                if user is not None:
                    _ensure_signed_in(walker, user)
    return walker


@pytest.mark.slow
@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_every_url_as(role, world):
    walker = walk(world, role)
    assert walker.requests > (500 if role in (OWNER, TEAM_LEAD) else 700)
    assert not walker.problems, f"{len(walker.problems)} problems:\n" + "\n".join(walker.problems)


@pytest.mark.slow
@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_every_api_url_with_token_auth_as(role, world):
    walker = walk(world, role, token_auth=True)
    assert walker.requests > 50
    assert not walker.problems, f"{len(walker.problems)} problems:\n" + "\n".join(walker.problems)


@pytest.mark.django_db
def test_the_sentinels_are_on_the_owners_pages(world, client_as):
    """The walk's searches would find a leak: the owner's own pages show every sentinel."""
    client = client_as(world.owner)
    seen = set()
    for name in ("leads:detail", "pipeline:lenders", "pipeline:documents"):
        seen |= set(leaked(body_of(client.get(reverse(name, args=[world.lead.pk])))))
    assert seen == set(SENTINELS)
    response = client_as(world.broker).get(reverse("leads:import_report", args=[world.import_job.pk]))
    assert {"street", "owner's name"} <= set(leaked(body_of(response)))


def test_the_walk_would_see_a_page_the_policy_breaks():
    from django.http import HttpResponse

    def problems(html, policy="default-src 'self'; script-src 'self'"):
        response = HttpResponse(html)
        if policy:
            response["Content-Security-Policy"] = policy
        return csp_problems(response, html.lower())

    assert problems('<script src="/static/js/app.js"></script><script type="application/json">{}</script>') == []
    assert problems("<script>alert(1)</script>")
    assert problems('<button onclick="go()">Go</button>')
    assert problems("<p>fine</p>", policy="")
