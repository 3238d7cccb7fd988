"""Which rows hold a homeowner's details, and what an erasure does to each field.

The rows are found by walking foreign keys, as the merge does (leads/merging.py): from the
person's leads through every key that points at them (``_meta.get_fields(include_hidden=True)``
also finds the keys declared ``related_name="+"``), then through every key that points at
those rows, and so on. So a model added later, in any app, is found without a change here;
``REDACTIONS`` must then say what happens to each of its text fields, or
tests/pipeline/privacy/test_erasure.py (``test_every_text_field_of_every_held_model_is_redacted_or_kept_with_a_reason``)
fails; an append-only model's redacted fields also need a migration adding them to the
trigger's ``leadcrm_erasable_column`` (tests/pipeline/privacy/test_erasable_columns.py).
django-simple-history's tables follow the rows they record (``HistoricalContact`` by the
contact's id) and use their model's entry.

Each text field of a walked model is either redacted (``REDACTIONS``) or kept (``KEPT``,
with the reason). Fields with choices hold a code, not the person's words, and need
neither. See docs/privacy.md#what-is-removed and docs/privacy.md#what-is-kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from django.apps import apps
from django.db import models

from leads.models import Lead, Property

ERASED = "[erased]"
# Markers for the redactions a constant cannot do.
BLANK = ""
PER_ROW = "per-row"  # under a unique constraint: "erased-<id>", one per row
SCRUB = "scrub"  # JSON: every string naming the person becomes "[erased]", the rest stays
FILE = "file"  # a stored file: deleted from storage, its name emptied

# Apps whose rows can hang off a lead; the users and the brokerage's own tables never do.
WALKED_APPS = frozenset({"leads", "compliance", "pipeline"})
MAX_DEPTH = 4

REDACTIONS: dict[str, dict[str, str]] = {
    "leads.lead": {},
    "leads.property": {"street": ERASED, "unit": BLANK, "zip4": BLANK, "apn": BLANK, "address_key": PER_ROW},
    "leads.contact": {"first_name": ERASED, "last_name": ERASED, "company_name": BLANK, "mailing_care_of": BLANK,
                      "mailing_street": BLANK, "mailing_unit": BLANK, "mailing_city": BLANK, "mailing_state": BLANK,
                      "mailing_zip": BLANK, "rejected_phones": SCRUB},
    "leads.phone": {"number": PER_ROW, "raw": BLANK},
    "leads.email": {"address": PER_ROW},
    "leads.hardshiprecord": {"narrative": ERASED},
    "leads.lien": {"loan_number_masked": BLANK},
    "leads.foreclosurerecord": {"document_number": BLANK},
    "leads.leadassignment": {"reason": ERASED},
    "leads.importrowissue": {"row": SCRUB},
    "compliance.internaldncentry": {"homeowner_words": ERASED},
    "compliance.compliancecheck": {"contact_point": ERASED, "findings": SCRUB, "evidence": SCRUB},
    "compliance.evidencefile": {"stored_file": FILE, "original_name": ERASED},
    "compliance.consentrecord": {"phone_number": ERASED, "consent_text": ERASED, "proof_note": ERASED},
    "compliance.reassignednumbercheck": {"phone_number": ERASED},
    "compliance.establishedrelationship": {"phone_number": ERASED, "evidence": ERASED},
    "compliance.interestdisclosure": {"document_text": ERASED},
    "compliance.evidencerevocation": {"reason": ERASED},
    "compliance.revocationreview": {"phone_number": ERASED, "email": ERASED, "text": ERASED, "matched": ERASED},
    "pipeline.stagechange": {"note": ERASED},
    "pipeline.lenderfile": {"portal_reference": BLANK},
    "pipeline.lendermilestone": {"note": ERASED},
    "pipeline.checklistitem": {"note": ERASED},
    "pipeline.documentupload": {"stored_file": FILE, "original_name": ERASED},
    "pipeline.offer": {"notes": ERASED},
    "pipeline.fee": {"description": ERASED},
    "pipeline.outreachattempt": {"contact_point": ERASED, "notes": ERASED},
    "pipeline.leadnote": {"body": ERASED},
    # Moving in from another CRM: a row's reason may quote a number or an address it left out.
    "pipeline.crmimportrow": {"reason": ERASED},
    "pipeline.followup": {"title": ERASED, "notes": ERASED, "closed_reason": ERASED},
    "pipeline.notification": {"title": ERASED, "body": ERASED},
    "pipeline.sellerevent": {"detail": ERASED},
    "pipeline.message": {"from_address": ERASED, "to_address": ERASED, "subject": ERASED, "body": ERASED},
    # Action plans: a pause quotes the homeowner's reply; a stop's reason, a run's reason
    # (a task's title with their name, the gate's findings) may name them.
    "pipeline.planenrollment": {"pause_detail": ERASED, "end_reason": ERASED, "ended_channels": SCRUB},
    "pipeline.plansteprun": {"reason": ERASED},
    # Outgoing webhooks: what was sent names the house (and a document's file name); an
    # answer may echo it back.
    "pipeline.webhookdelivery": {"data": SCRUB},
    "pipeline.webhookattempt": {"response_excerpt": BLANK},
}

THE_HOUSE = "the house's area and facts, not the person: kept for the reports"
KEPT: dict[str, dict[str, str]] = {
    "leads.lead": {"score_reasons": "the score's reasons name facts of the house and the filing, not the person",
                   "source": "where the lead came from (a list's kind)",
                   "source_external_id": "the lead source's own id for the lead, not the person's details: kept so "
                                         "the source posting it again adds nothing"},
    "leads.leadsourcepost": {"external_id": "the lead source's own id for the lead, not the person's details: kept "
                                            "so the source posting it again adds nothing"},
    "leads.property": {"city": THE_HOUSE, "county": THE_HOUSE, "zip_code": THE_HOUSE, "mls_status": THE_HOUSE,
                       "mls_agent_name": "the listing agent's, not the homeowner's",
                       "mls_agent_phone": "the listing agent's, not the homeowner's",
                       "mls_agent_email": "the listing agent's, not the homeowner's",
                       "mls_brokerage_name": "the listing brokerage's, not the homeowner's",
                       "mls_brokerage_phone": "the listing brokerage's, not the homeowner's"},
    "leads.lien": {"lender": "the lender's name", "loan_program": "the kind of loan"},
    "leads.foreclosurerecord": {"lender": "the lender's name", "auction_location": "the courthouse steps",
                                "trustee": "the trustee's name"},
    "leads.leadmerge": {"moved": "row ids only", "renumbered": "row ids only", "kept": "row ids only",
                        "prior": "the merged lead's stage and agent"},
    "compliance.internaldncentry": {
        "phone_number": "the law requires the do-not-call entry kept; erasing it would let a re-import call again",
        "email": "the do-not-contact entry blocks emails to this address again",
        "postal_address": "the do-not-contact entry blocks letters to this address again",
        "stopped_on": "the number or address the stop came on, which the entries keep as well"},
    "compliance.compliancecheck": {"rule_ids": "the rules that decided: kept as evidence of the check"},
    "compliance.evidencefile": {"content_type": "the kind of file", "sha256": "shows which file was held, without it"},
    "compliance.consentrecord": {"method": "how consent was given (signed form, text reply)"},
    "compliance.agentdncentry": {
        "phone_number": "an agent's own do-not-call entry (Washington, B3): erasing it would let that agent call again",
        "email": "an agent's own do-not-contact entry: erasing it would let that agent email again",
        "note": "the agent's note on where their own list came from; a stop's words are on the brokerage's "
                "entry, erased there"},
    "compliance.textresubscription": {
        "phone_number": "kept beside the internal list's entry for the number: which texts the homeowner "
                        "asked for again after a stop",
        "words": "a carrier keyword (START, UNSTOP), not the person's own words"},
    "pipeline.lenderfile": {"servicer": "the lender's name"},
    "pipeline.negotiator": {"name": "the lender's negotiator, not the homeowner",
                            "phone": "the lender's negotiator, not the homeowner",
                            "email": "the lender's negotiator, not the homeowner"},
    "pipeline.approvalletter": {"deficiency": "the lender's terms of the approval"},
    "pipeline.documentupload": {"content_type": "the kind of file", "sha256": "shows which file was held, without it"},
    "pipeline.offer": {"buyer_name": "the buyer's, not the homeowner's: part of the deal's record"},
    "pipeline.followup": {"source_key": "the deadline rule's key and the lead's id"},
    "pipeline.crmimportrow": {"file": "which file of the export: people, notes or tasks",
                              "external_id": "the other CRM's id of the record, nothing of the person"},
    "pipeline.crmlink": {"external_id": "the other CRM's id of the record, nothing of the person"},
    "pipeline.notification": {"url": "a page's address: the lead's id only", "key": "a rule's key"},
    "pipeline.message": {"provider": "which service carried it", "provider_id": "the service's id of the message",
                         "error_code": "the carrier's error code", "error_message": "the carrier's error, in its words",
                         "keyword": "what the text asked for (stop, start, help)"},
    "pipeline.sellerlink": {"token_hash": "a hash of the link, which no longer shows anything of the person"},
    "pipeline.planenrollment": {"trigger_key": "the automation's event: a stage, list or tag and a time"},
    "pipeline.plansteprun": {"title": "the step's name in the plan's own words, its merge fields not filled in",
                             "rules": "the rules that refused the step: kept as the gate's record",
                             "body": "the step's words as the plan has them, its merge fields not filled in"},
    # The seller form's log (docs/intake.md): the consent's address and browser are in the
    # consent record's proof note, erased with it.
    "pipeline.formsubmission": {
        "address_hash": "a keyed hash of the address it came from, never the address: counts posts for the limit",
        "invalid_fields": "the names of the fields the homeowner had to fix, never what they typed",
        "also_on_leads": "row ids only",
        "plan_refusal": "why the form's plan did not start, in the plan's words"},
    "pipeline.webhookdelivery": {"event_key": "the event's type, row ids and a time"},
    "pipeline.webhookattempt": {"error": "why the receiving system did not answer (a timeout, a refused connection)"},
}
HISTORY_KEPT = {"history_type": "+, ~ or -: what happened, not to whom"}
HISTORY_REDACTED = {"history_change_reason": ERASED}

# Rows no key joins to the lead: matched by the person's details instead (``unlinked``).
UNLINKED = ("leads.importrowissue",)

TEXT_FIELDS = (models.CharField, models.TextField, models.JSONField, models.FileField)


@dataclass(frozen=True)
class Held:
    """One model holding the person's rows, and the lookups from it to the lead's id."""

    model: type[models.Model]
    paths: tuple[str, ...]
    # A history table: also the rows recording these (by the recorded row's id).
    records: Held | None = None

    @property
    def label(self) -> str:
        return self.model._meta.label_lower

    @property
    def manager(self):
        # The append-only models' default manager carries ``redact``; their base manager does not.
        return self.model._default_manager if is_append_only(self.model) else self.model._base_manager

    def rows(self, lead_ids) -> models.QuerySet:
        query = models.Q()
        for path in self.paths:
            query |= models.Q(**{f"{path}__in": lead_ids})
        if self.records is not None:
            query |= models.Q(id__in=self.records.rows(lead_ids).values("pk"))
        return self.manager.filter(query).order_by("pk")


def is_append_only(model) -> bool:
    from leadcrm.shared.append_only import AppendOnlyModel, AppendOnlyQuerySet

    queryset_class = getattr(model._default_manager, "_queryset_class", None)
    return issubclass(model, AppendOnlyModel) or bool(queryset_class and issubclass(queryset_class, AppendOnlyQuerySet))


def history_of(model) -> type[models.Model] | None:
    return getattr(model, "instance_type", None)


@cache
def held_models() -> tuple[Held, ...]:
    """Every model that can hold a row of a lead, with its paths to the lead's id."""
    paths: dict[type[models.Model], list[str]] = {Lead: ["pk"], Property: ["lead__pk"]}
    frontier = [(Lead, "pk", 0), (Property, "lead__pk", 0)]
    while frontier:
        parent, path, depth = frontier.pop(0)
        if depth >= MAX_DEPTH:
            continue
        for relation in parent._meta.get_fields(include_hidden=True):
            if not (relation.auto_created and not relation.concrete and (relation.one_to_many or relation.one_to_one)):
                continue
            child = relation.related_model
            if child in (Lead, Property) or child is parent or child._meta.app_label not in WALKED_APPS:
                continue
            if history_of(child) is not None:
                continue  # followed from the rows it records, below
            child_path = f"{relation.field.name}__{path}"
            if child_path not in paths.setdefault(child, []):
                paths[child].append(child_path)
                frontier.append((child, child_path, depth + 1))
    held = [Held(model, tuple(found)) for model, found in paths.items()]
    # Each history table follows the rows it records by their id, and by its own keys (to the
    # lead, the owner) the rows since removed, whose ids are gone.
    recorded = {entry.model: entry for entry in held}
    for model in apps.get_models():
        instance = history_of(model)
        if instance not in recorded:
            continue
        own = [f"{field.name}__{path}" for field in model._meta.concrete_fields
               if field.is_relation and field.related_model in paths and field.name != "history_user"
               for path in paths[field.related_model]]
        held.append(Held(model, tuple(own), records=recorded[instance]))
    return tuple(held)


def redactions_for(model) -> dict[str, str]:
    instance = history_of(model)
    if instance is None:
        return REDACTIONS.get(model._meta.label_lower, {})
    names = {field.name for field in model._meta.concrete_fields}
    return {**{name: value for name, value in REDACTIONS.get(instance._meta.label_lower, {}).items() if name in names},
            **HISTORY_REDACTED}


def kept_for(model) -> dict[str, str]:
    instance = history_of(model)
    if instance is None:
        return KEPT.get(model._meta.label_lower, {})
    return {**KEPT.get(instance._meta.label_lower, {}), **HISTORY_KEPT}


def personal_fields(model) -> list[str]:
    """The text fields that could hold a person's details: every free text, JSON or file
    field; a field with choices holds a code."""
    return [field.name for field in model._meta.concrete_fields
            if isinstance(field, TEXT_FIELDS) and not field.choices and not field.is_relation]
