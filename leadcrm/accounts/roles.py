"""Roles and the permissions they carry: the one place permission names are spelled.

A role is a Django group; the groups and their permissions are rebuilt from this table
after every ``migrate`` (see ``services.role_groups_sync``), so code and database agree.
"""

from django.db import models


class Role(models.TextChoices):
    AGENT = "agent", "Agent"
    TEAM_LEAD = "team_lead", "Team lead"
    BROKER = "broker", "Broker"


class Perm:
    """Permission strings as ``has_perm`` expects them (``app_label.codename``)."""

    # Row scope: see leads.querysets.LeadQuerySet.visible_to.
    VIEW_ALL_LEADS = "leads.view_all_leads"
    VIEW_TEAM_LEADS = "leads.view_team_leads"
    ASSIGN_LEADS = "leads.assign_leads"
    # The keys lead sources post with (POST /api/lead-sources/leads/): brokers only.
    MANAGE_SOURCE_KEYS = "leads.manage_lead_source_keys"
    # Moving a whole CRM in (Follow Up Boss, Podio): brokers only (docs/moving-in.md#who).
    MOVE_IN = "pipeline.move_in_from_crm"

    LOG_OUTREACH = "pipeline.add_outreachattempt"
    CHANGE_STAGE = "pipeline.add_stagechange"
    MANAGE_FOLLOW_UPS = "pipeline.change_followup"
    WORK_LENDER_FILES = "pipeline.change_lenderfile"
    MANAGE_DOCUMENTS = "pipeline.add_documentupload"
    MANAGE_OFFERS = "pipeline.add_offer"
    MANAGE_TEMPLATES = "pipeline.manage_shared_templates"
    MANAGE_PLANS = "pipeline.manage_shared_plans"
    # The public seller forms (pipeline/intake): brokers only.
    MANAGE_SELLER_FORMS = "pipeline.manage_seller_forms"
    # Outgoing webhooks (pipeline/webhooks): brokers only.
    MANAGE_WEBHOOKS = "pipeline.manage_webhooks"
    # The brokerage's integration keys (API keys not tied to a person): brokers only.
    MANAGE_INTEGRATION_KEYS = "accounts.manage_integration_keys"
    # Agents keep plans of their own and start plans on the leads they work.
    USE_PLANS = "pipeline.add_planenrollment"
    ADD_NOTES = "pipeline.add_leadnote"

    MANAGE_REGISTRIES = "compliance.manage_registries"
    VIEW_COMPLIANCE = "compliance.view_compliancecheck"
    # Consent, relationships, number checks, disclosures: recorded on the lead page by anyone
    # who works the lead; revoked (declared not valid evidence) by a broker only.
    RECORD_EVIDENCE = "compliance.record_evidence"
    REVOKE_EVIDENCE = "compliance.revoke_evidence"


def _model_perms(app_label: str, model: str, actions: str = "add change view") -> list[str]:
    return [f"{app_label}.{action}_{model}" for action in actions.split()]


# Everything an agent does to the leads assigned to them.
_AGENT = [
    "leads.view_lead",
    "leads.change_lead",
    *_model_perms("leads", "contact"),
    *_model_perms("leads", "phone"),
    *_model_perms("leads", "email"),
    *_model_perms("leads", "hardshiprecord"),
    *_model_perms("leads", "lien"),
    "leads.view_property",
    "leads.change_property",
    "leads.view_leadlist",
    Perm.LOG_OUTREACH,
    "pipeline.view_outreachattempt",
    Perm.CHANGE_STAGE,
    "pipeline.view_stagechange",
    *_model_perms("pipeline", "followup"),
    # The short sale itself: lender files, the package, offers.
    *_model_perms("pipeline", "lenderfile"),
    *_model_perms("pipeline", "lendermilestone", "add view"),
    *_model_perms("pipeline", "negotiator", "add view"),
    *_model_perms("pipeline", "approvalletter", "add view"),
    *_model_perms("pipeline", "checklistitem"),
    *_model_perms("pipeline", "documentupload", "add view"),
    *_model_perms("pipeline", "offer"),
    *_model_perms("pipeline", "messagetemplate"),
    *_model_perms("pipeline", "leadnote", "add view"),
    *_model_perms("pipeline", "actionplan"),
    *_model_perms("pipeline", "planenrollment"),
    *_model_perms("pipeline", "planautomation", "add change view delete"),
    "pipeline.view_plansteprun",
    "compliance.add_internaldncentry",
    "compliance.view_internaldncentry",
    "compliance.view_dncpolicy",
    Perm.RECORD_EVIDENCE,
    # Agents import their own lists (the new leads come to them).
    *_model_perms("leads", "importjob", "add view"),
    "leads.view_columnmapping",
    "leads.add_columnmapping",
    "leads.view_foreclosurerecord",
    "leads.view_importrowissue",
]

_TEAM_LEAD = [
    *_AGENT,
    Perm.VIEW_TEAM_LEADS,
    Perm.ASSIGN_LEADS,
    "accounts.view_user",
    "accounts.view_team",
    "accounts.view_teammembership",
    Perm.VIEW_COMPLIANCE,
]

_BROKER = [
    *_TEAM_LEAD,
    Perm.VIEW_ALL_LEADS,
    *_model_perms("leads", "lead", "add"),
    *_model_perms("leads", "property", "add"),
    *_model_perms("leads", "leadlist", "add change"),
    *_model_perms("leads", "listmembership", "add change view"),
    *_model_perms("accounts", "user", "add change"),
    *_model_perms("accounts", "team", "add change delete"),
    *_model_perms("accounts", "teammembership", "add change delete"),
    *_model_perms("accounts", "brokerage", "change view"),
    "auth.view_group",
    Perm.MANAGE_REGISTRIES,
    Perm.MANAGE_TEMPLATES,
    Perm.MANAGE_PLANS,
    Perm.MANAGE_WEBHOOKS,
    Perm.MANAGE_INTEGRATION_KEYS,
    Perm.REVOKE_EVIDENCE,
    *_model_perms("compliance", "dncsource"),
    "compliance.view_dncnumber",
    *_model_perms("compliance", "dncpolicy", "add view"),
    "compliance.view_policyacknowledgement",
    # Reminders: the brokerage's settings, the delivery log, who has a calendar address.
    *_model_perms("pipeline", "remindersettings", "add change view"),
    "pipeline.view_notification",
    "leads.view_routingrule",
    "leads.view_leadassignment",
    Perm.MANAGE_SOURCE_KEYS,
    Perm.MANAGE_SELLER_FORMS,
    *_model_perms("pipeline", "calendarfeed", "view delete"),
    Perm.MOVE_IN,
    "pipeline.view_crmimport",
    *_model_perms("pipeline", "crmvaluemapping", "change view delete"),
]

ROLE_PERMISSIONS: dict[Role, list[str]] = {
    Role.AGENT: _AGENT,
    Role.TEAM_LEAD: _TEAM_LEAD,
    Role.BROKER: _BROKER,
}

# Team leads and brokers work partly in the admin (reports, teams, registries).
STAFF_ROLES = frozenset({Role.TEAM_LEAD, Role.BROKER})
