"""The exact answer each of our pages gives each kind of user.

A lead you may not see is a 404 everywhere. This matrix pins the status codes (who is
refused with a 403, who is redirected where); that no URL is left out, the admin's and
the API's included, and that none shows a lead to someone who may not see it, is
``test_url_walk.py``'s job: it discovers every pattern from the URLconf.
"""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from leads.models import ImportStatus

from ..compliance.factories import RegistryLoadFactory, RevocationReviewFactory
from ..leads.factories import ImportJobFactory, SavedSearchFactory
from ..pipeline.factories import (
    FollowUpFactory,
    MailBatchFactory,
    MessageTemplateFactory,
    NotificationFactory,
)

pytestmark = pytest.mark.django_db

ANON, OTHER, OWNER, TEAM_LEAD, BROKER = "anonymous", "other_agent", "owner", "team_lead", "broker"
EVERYONE_SIGNED_IN = {OTHER: 200, OWNER: 200, TEAM_LEAD: 200, BROKER: 200}
LEAD_PAGE = {ANON: 302, OTHER: 404, OWNER: 200, TEAM_LEAD: 200, BROKER: 200}
# An import is its importer's (and the broker's) business; a team lead assigns leads, not lists.
MY_IMPORT = {ANON: 302, OTHER: 404, OWNER: 200, TEAM_LEAD: 404, BROKER: 200}
BROKERS_ONLY = {ANON: 302, OTHER: 403, OWNER: 403, TEAM_LEAD: 403, BROKER: 200}

# url name -> (method, object the URL is about, expected status per user)
MATRIX = {
    "pipeline:dashboard": ("get", None, {ANON: 302, **EVERYONE_SIGNED_IN}),
    "leads:list": ("get", None, {ANON: 302, **EVERYONE_SIGNED_IN}),
    "leads:detail": ("get", "lead", LEAD_PAGE),
    "pipeline:outreach_log": ("get", "lead", LEAD_PAGE),
    "pipeline:stage_change": ("get", "lead", LEAD_PAGE),
    "pipeline:bulk": ("post", None, {ANON: 302, OTHER: 302, OWNER: 302, TEAM_LEAD: 302, BROKER: 302}),  # nothing ticked
    "pipeline:note_add": ("post", "lead", {ANON: 302, OTHER: 404, OWNER: 302, TEAM_LEAD: 302, BROKER: 302}),
    "pipeline:follow_up_done": ("post", "follow_up", {ANON: 302, OTHER: 404, OWNER: 302, TEAM_LEAD: 302, BROKER: 302}),
    "pipeline:outreach_preview": ("post", "lead", {ANON: 302, OTHER: 404, OWNER: 200, TEAM_LEAD: 200, BROKER: 200}),
    # Tags on a lead: whoever sees the lead (nothing posted: back to its page with why).
    "pipeline:lead_tag_add": ("post", "lead", {ANON: 302, OTHER: 404, OWNER: 302, TEAM_LEAD: 302, BROKER: 302}),
    "pipeline:lead_tag_remove": ("post", "lead", {ANON: 302, OTHER: 404, OWNER: 302, TEAM_LEAD: 302, BROKER: 302}),
    # Saved searches: anyone saves their own; only the owner changes one (nothing posted: back with why).
    "pipeline:search_save": ("post", None, {ANON: 302, OTHER: 302, OWNER: 302, TEAM_LEAD: 302, BROKER: 302}),
    "pipeline:search_edit": ("post", "saved_search", {ANON: 302, OTHER: 404, OWNER: 302, TEAM_LEAD: 404,
                                                      BROKER: 404}),
    "compliance:overview": ("get", None, BROKERS_ONLY),
    "compliance:registries": ("get", None, BROKERS_ONLY),
    "compliance:registry_load": ("get", "registry_load", BROKERS_ONLY),
    "compliance:checks_export": ("get", None, {**BROKERS_ONLY, BROKER: 302}),  # no dates: back with a message
    "compliance:review_decide": ("post", "review", {ANON: 302, OTHER: 403, OWNER: 403, TEAM_LEAD: 302, BROKER: 302}),
    "compliance:procedures": ("get", None, {ANON: 302, **EVERYONE_SIGNED_IN}),
    "leads:imports": ("get", None, {ANON: 302, **EVERYONE_SIGNED_IN}),
    "leads:import_detail": ("get", "import_job", MY_IMPORT),
    "leads:import_report": ("get", "import_job", MY_IMPORT),
    "leads:import_map": ("get", "import_draft", MY_IMPORT),
    "leads:import_cancel": ("post", "import_job", {**MY_IMPORT, OWNER: 302, BROKER: 302}),
    "pipeline:board": ("get", None, {ANON: 302, **EVERYONE_SIGNED_IN}),
    "pipeline:scripts": ("get", None, {ANON: 302, **EVERYONE_SIGNED_IN}),
    "pipeline:marketing": ("get", None, {ANON: 302, **EVERYONE_SIGNED_IN}),
    "pipeline:mail_print": ("get", None, {ANON: 302, OTHER: 404, OWNER: 404, TEAM_LEAD: 404, BROKER: 404}),  # no template
    # Printed letters are their agent's alone.
    "pipeline:mail_batch": ("get", "mail_batch", {ANON: 302, OTHER: 404, OWNER: 200, TEAM_LEAD: 404, BROKER: 404}),
    # Public: the link in every marketing email; a forged token shows nothing.
    "pipeline:unsubscribe": ("get", "unsubscribe_token", {ANON: 404, OWNER: 404}),
    # An agent's own script is theirs alone.
    "pipeline:script_edit": ("get", "own_script", {ANON: 302, OTHER: 404, OWNER: 200, TEAM_LEAD: 404, BROKER: 404}),
    # Everyone's queue is their own leads: a page, and a redirect to the next of them.
    "pipeline:queue": ("get", None, {ANON: 302, **EVERYONE_SIGNED_IN}),
    "pipeline:queue_next": ("get", None, {ANON: 302, OTHER: 302, OWNER: 302, TEAM_LEAD: 302, BROKER: 302}),
    # An empty move goes back to the board; a forged lead id is a 404 (test_board.py).
    "pipeline:board_move": ("post", None, {ANON: 302, OTHER: 302, OWNER: 302, TEAM_LEAD: 302, BROKER: 302}),
    "pipeline:lenders": ("get", "lead", LEAD_PAGE),
    "pipeline:documents": ("get", "lead", LEAD_PAGE),
    "pipeline:offers": ("get", "lead", LEAD_PAGE),
    "pipeline:document_download": ("get", "document", LEAD_PAGE),
    # Notifications are their recipient's alone: someone else's is a 404.
    "pipeline:notifications": ("get", None, {ANON: 302, **EVERYONE_SIGNED_IN}),
    "pipeline:notification_open": ("get", "notification", {ANON: 302, OTHER: 404, OWNER: 302, TEAM_LEAD: 404,
                                                            BROKER: 404}),
    "pipeline:notifications_read": ("post", None, {ANON: 302, OTHER: 302, OWNER: 302, TEAM_LEAD: 302, BROKER: 302}),
    "pipeline:my_settings": ("get", None, {ANON: 302, **EVERYONE_SIGNED_IN}),
    "pipeline:lead_new": ("get", None, {ANON: 302, **EVERYONE_SIGNED_IN}),
    "pipeline:lead_export": ("get", None, {ANON: 302, **EVERYONE_SIGNED_IN}),  # their own leads only
    "pipeline:exports": ("get", None, {ANON: 302, **EVERYONE_SIGNED_IN}),
    # An export's file is its requester's alone, whoever else may see the leads in it.
    "pipeline:export_download": ("get", "lead_export", {ANON: 302, OTHER: 404, OWNER: 200, TEAM_LEAD: 404,
                                                        BROKER: 404}),
    # Public for calendar apps; the address is the secret: a forged one shows nothing.
    "pipeline:calendar_feed": ("get", "calendar_token", {ANON: 404, OWNER: 404}),
    # Routing: team leads and brokers route; every agent has a pond; a lead id not in the
    # pond (or not theirs to see) is the same polite refusal.
    "leads:route": ("post", "lead", {ANON: 302, OTHER: 403, OWNER: 403, TEAM_LEAD: 302, BROKER: 302}),
    "leads:routing": ("get", None, {**BROKERS_ONLY, TEAM_LEAD: 200}),
    "leads:pond": ("get", None, {ANON: 302, **EVERYONE_SIGNED_IN}),
    "leads:pond_claim": ("post", "lead", {ANON: 302, OTHER: 302, OWNER: 302, TEAM_LEAD: 302, BROKER: 302}),
    "leads:workload": ("get", None, {ANON: 302, OTHER: 404, OWNER: 404, TEAM_LEAD: 200, BROKER: 200}),
    "leads:departure": ("get", "agent_user", {ANON: 302, OTHER: 403, OWNER: 403, TEAM_LEAD: 200, BROKER: 200}),
    # The broker's reports, pages of the admin: agents are not staff (to the admin's login).
    "reports:reports": ("get", None, {ANON: 302, OTHER: 302, OWNER: 302, TEAM_LEAD: 403, BROKER: 200}),
    "reports:report": ("get", "report_slug", {ANON: 302, OTHER: 302, OWNER: 302, TEAM_LEAD: 403, BROKER: 200}),
    # Users in the admin: agents are not staff; a team lead reads their own team's records
    # and another team's is a 404, as a lead is (before: 200 for every user's record).
    "admin:accounts_user_changelist": ("get", None, {ANON: 302, OTHER: 302, OWNER: 302, TEAM_LEAD: 200,
                                                     BROKER: 200}),
    "admin:accounts_user_change": ("get", "agent_user", {ANON: 302, OTHER: 302, OWNER: 302, TEAM_LEAD: 200,
                                                         BROKER: 200}),
    "admin:accounts_user_history": ("get", "other_team_user", {ANON: 302, OTHER: 302, OWNER: 302,
                                                               TEAM_LEAD: 404, BROKER: 200}),
    # A homeowner's privacy requests: the broker's alone; to anyone else the pages are not there.
    "privacy:index": ("get", None, {ANON: 302, OTHER: 404, OWNER: 404, TEAM_LEAD: 404, BROKER: 200}),
    "privacy:download": ("post", None, {ANON: 302, OTHER: 404, OWNER: 404, TEAM_LEAD: 404, BROKER: 400}),  # no leads
    "privacy:erase_preview": ("post", None, {ANON: 302, OTHER: 404, OWNER: 404, TEAM_LEAD: 404, BROKER: 200}),
    "privacy:erase_confirm": ("post", None, {ANON: 302, OTHER: 404, OWNER: 404, TEAM_LEAD: 404, BROKER: 400}),
    # The API: the same scope as the pages; unauthenticated is a 401 (token or session).
    "api:api-root": ("get", None, {ANON: 401, **EVERYONE_SIGNED_IN}),
    "api:lead-list": ("get", None, {ANON: 401, **EVERYONE_SIGNED_IN}),
    "api:lead-detail": ("get", "lead", {**LEAD_PAGE, ANON: 401}),
    "api:lead-stage-changes": ("get", "lead", {**LEAD_PAGE, ANON: 401}),
    "api:lead-move": ("post", "lead", {ANON: 401, OTHER: 404, OWNER: 400, TEAM_LEAD: 400, BROKER: 400}),  # no stage
    "api:follow-up-list": ("get", None, {ANON: 401, **EVERYONE_SIGNED_IN}),
    "api:follow-up-detail": ("get", "follow_up", {**LEAD_PAGE, ANON: 401}),
    "api:follow-up-done": ("post", "follow_up", {**LEAD_PAGE, ANON: 401}),
    "api:outreach-list": ("get", None, {ANON: 401, **EVERYONE_SIGNED_IN}),
    "api:outreach-detail": ("get", "outreach_attempt", {**LEAD_PAGE, ANON: 401}),
    "api:import-list": ("get", None, {ANON: 401, **EVERYONE_SIGNED_IN}),
    "api:import-detail": ("get", "import_job", {**MY_IMPORT, ANON: 401}),
    # People and reports: as the pages scope them (the other agent is on another team).
    "api:user-list": ("get", None, {ANON: 401, **EVERYONE_SIGNED_IN}),
    "api:user-me": ("get", None, {ANON: 401, **EVERYONE_SIGNED_IN}),
    "api:user-detail": ("get", "agent_user", {ANON: 401, OTHER: 404, OWNER: 200, TEAM_LEAD: 200, BROKER: 200}),
    "api:team-list": ("get", None, {ANON: 401, **EVERYONE_SIGNED_IN}),
    "api:team-detail": ("get", "agent_team", {ANON: 401, OTHER: 404, OWNER: 404, TEAM_LEAD: 200, BROKER: 200}),
    "api:report-funnel": ("get", None, {**BROKERS_ONLY, ANON: 401}),
    "api:token-list": ("get", None, {ANON: 401, **EVERYONE_SIGNED_IN}),
    "api:integration-key-list": ("get", None, {**BROKERS_ONLY, ANON: 401}),
    "api-compliance-check": ("post", None, {ANON: 401, OTHER: 400, OWNER: 400, TEAM_LEAD: 400, BROKER: 400}),
    # A lead source's key only (tests/pipeline/api/test_lead_source_api.py): a session is no key.
    "api-lead-source-post": ("post", None, {ANON: 401, OTHER: 401, OWNER: 401, TEAM_LEAD: 401, BROKER: 401}),
    # The schema and its docs describe the API, not anyone's data: public.
    "api-schema": ("get", None, {ANON: 200, OWNER: 200}),
    "api-docs": ("get", None, {ANON: 200, OWNER: 200}),
    "healthz": ("get", None, {ANON: 200, OWNER: 200}),
    "healthz-live": ("get", None, {ANON: 200, OWNER: 200}),
    # 200 here: the database answers, and only it is required (leadcrm/shared/health.py).
    "healthz-ready": ("get", None, {ANON: 200, OWNER: 200}),
    "favicon": ("get", None, {ANON: 301, OWNER: 301}),
    "login": ("get", None, {ANON: 200, OWNER: 302}),
    # Signing in (docs/security.md#signing-in). The suite's force_login passes the second
    # factor for the team lead and the broker (tests/helpers.py); the agents have none.
    "two_factor": ("get", None, {ANON: 302, OTHER: 302, OWNER: 302, TEAM_LEAD: 302, BROKER: 302}),
    "two_factor_setup": ("get", None, {ANON: 302, **EVERYONE_SIGNED_IN}),
    # POST/redirect/GET: the codes are made by the POST and shown by the GET it redirects to.
    "two_factor_recovery_codes": ("post", None, {ANON: 302, OTHER: 302, OWNER: 302, TEAM_LEAD: 302,
                                                 BROKER: 302}),
    "two_factor_off": ("post", None, {ANON: 302, OTHER: 302, OWNER: 302, TEAM_LEAD: 302, BROKER: 302}),
    "password_change": ("get", None, {ANON: 302, **EVERYONE_SIGNED_IN}),
    "password_reset": ("get", None, {ANON: 200, OWNER: 200}),
    "password_reset_done": ("get", None, {ANON: 200, OWNER: 200}),
    "password_reset_complete": ("get", None, {ANON: 200, OWNER: 200}),
    "logout": ("post", None, {ANON: 302, OWNER: 302}),
}


def test_every_url_in_the_matrix_still_exists():
    from .test_url_walk import discover

    assert set(MATRIX) <= {route.name for route in discover()}


def outreach(lead, agent):
    from pipeline.outreach.services import outreach_log

    return outreach_log(lead=lead, channel="call", contact_point=lead.contacts.first().phones.first(),
                        outcome="no_answer", actor=agent, role_disclosed=True, purpose="short_sale_listing")


def import_job(owner, status):
    return ImportJobFactory(created_by=owner, status=status)


def document(lead, agent):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from pipeline.deals.documents import document_upload

    return document_upload(lead=lead, kind="hardship_letter", actor=agent,
                           file=SimpleUploadedFile("letter.pdf", b"%PDF-1.4 hardship letter"))


@pytest.fixture
def people(agent, other_agent, team_lead, broker):
    return {ANON: None, OTHER: other_agent, OWNER: agent, TEAM_LEAD: team_lead, BROKER: broker}


def mail_batch(agent):
    return MailBatchFactory(agent=agent)


def lead_export(agent):
    from pipeline.workspace.exports import lead_export_request, lead_export_run

    export = lead_export_request(requested_by=agent, filters={}, format="csv")
    return lead_export_run(export_id=export.pk)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(MATRIX))
def test_url_as_each_kind_of_user(name, people, lead, agent, client_as, national_registry):
    method, about, expected = MATRIX[name]
    made = {}
    for who, status in expected.items():
        objects = {
            "lead": lead,
            "follow_up": FollowUpFactory(lead=lead),
            "registry_load": RegistryLoadFactory(source=national_registry),
            "import_job": import_job(agent, ImportStatus.DONE),
            "import_draft": import_job(agent, ImportStatus.DRAFT),
            "document": document(lead, agent),
            "unsubscribe_token": type("Forged", (), {"pk": "forged-token"}),
            "calendar_token": type("Forged", (), {"pk": "forged-calendar-token"}),
            "mail_batch": mail_batch(agent) if about == "mail_batch" else None,
            "lead_export": lead_export(agent) if about == "lead_export" else None,
            "agent_user": agent,
            "agent_team": agent.team_membership.team,
            "other_team_user": people[OTHER],
            # One attempt for all five users (a sixth call in a day would be capped, E2).
            "outreach_attempt": (made.get("attempt") or made.setdefault("attempt", outreach(lead, agent)))
            if about == "outreach_attempt" else None,
            "report_slug": type("Report", (), {"pk": "funnel"}),
            "notification": NotificationFactory(recipient=agent, url=f"/leads/{lead.pk}/"),
            "own_script": MessageTemplateFactory(kind="text", owner=agent),
            "review": RevocationReviewFactory(lead=lead, phone_number="+19185550104"),
            # Shared with the owner's team: the team lead sees it, and still may not change it.
            "saved_search": SavedSearchFactory(owner=agent, team=agent.team_membership.team)
            if about == "saved_search" else None,
        }
        url = reverse(name, args=[objects[about].pk]) if about else reverse(name)
        # The API reads JSON bodies only: an empty one, so a refusal is about what is in it.
        body = {"data": {}, "content_type": "application/json"} if name.startswith("api") and method != "get" else {}
        response = getattr(client_as(people[who]), method)(url, **body)
        assert response.status_code == status, f"{name} as {who}: {response.status_code}, expected {status}"
        if status == 302 and who == ANON and name not in {"login", "logout", "password_reset_complete"}:
            login = reverse("admin:login") if name.startswith(("reports:", "admin:", "privacy:")) else reverse("login")
            assert response["Location"].startswith(login)


@pytest.mark.parametrize("name", ["pipeline:dashboard", "leads:list"])
def test_lists_never_leak_another_agents_lead(name, lead, other_lead, agent, other_agent, client_as):
    from pipeline.models import Outcome
    from pipeline.outreach.services import outreach_log
    from pipeline.reminders.services import follow_up_create

    # given both leads with recent outreach and a follow-up, so both could appear anywhere
    for who, mine in ((agent, lead), (other_agent, other_lead)):
        outreach_log(lead=mine, channel="call", contact_point=mine.contacts.first().phones.first(),
                     outcome=Outcome.TALKED, actor=who, role_disclosed=True)
        follow_up_create(lead=mine, assignee=who, title="Call back", due_at=timezone.now() + timedelta(hours=2))
    content = client_as(agent).get(reverse(name)).content.decode()
    assert lead.property.street in content
    assert other_lead.property.street not in content


def test_search_never_finds_another_agents_lead_by_phone(lead, other_lead, agent, client_as):
    response = client_as(agent).get(reverse("leads:list"), {"q": "(850) 555-0147"})
    assert other_lead.property.street not in response.content.decode()
    response = client_as(agent).get(reverse("leads:list"), {"q": "918 555 0104"})
    assert lead.property.street in response.content.decode()
