"""Merging a duplicate lead into its survivor, generically, and undoing it (leads.merging)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models
from django.utils import timezone

from leadcrm.shared.append_only import AppendOnlyModel
from leads.merging import (
    ALREADY_MERGED,
    APPEND_ONLY,
    MOVE,
    NOT_MOVED,
    NOT_MOVED_MODELS,
    SAME_LEAD,
    UNDO_DONE,
    UNDO_NOT_YOURS,
    UNDO_SURVIVOR_MERGED,
    duplicate_dismiss,
    lead_ids_with_merged,
    lead_links,
    lead_merge,
    lead_merge_undo,
    merge_plan,
)
from leads.models import DeadReason, DuplicateDismissal, Lead, LeadMerge, Stage

from ..compliance.factories import (
    ConsentRecordFactory,
    EstablishedRelationshipFactory,
    InterestDisclosureFactory,
    RevocationReviewFactory,
)
from ..leadcrm.factories import AgentFactory
from .factories import (
    ContactFactory,
    EmailFactory,
    ForeclosureRecordFactory,
    HardshipFactory,
    LeadFactory,
    LeadListFactory,
    LienFactory,
    PhoneFactory,
    PropertyFactory,
)

pytestmark = pytest.mark.django_db


def rows_of_every_model_keyed_to_lead(*leads: Lead) -> set[tuple]:
    """Every row of every model with a key to Lead that names one of ``leads``:
    (model, pk, key field, lead id, position or None). Read with the base managers."""
    ids = [lead.pk for lead in leads]
    found = set()
    for link in lead_links():
        manager, attname = link.model._base_manager, link.field.attname
        has_position = link.renumbers
        columns = ["pk", attname, *(["position"] if has_position else [])]
        for row in manager.filter(**{f"{attname}__in": ids}).values_list(*columns):
            found.add((link.label, row[0], link.field.name, row[1], row[2] if has_position else None))
    return found


def rich_lead(*, agent, team, broker, phone="+19185550160"):
    """A lead with a row of (nearly) everything that hangs off a lead, through the services."""
    from compliance.services import internal_dnc_add
    from leads.services import lead_assign, lead_list_add, lead_refresh_lien_total
    from pipeline.deals.documents import document_upload
    from pipeline.deals.lenders import lender_file_for, milestone_record
    from pipeline.deals.offers import offer_create
    from pipeline.deals.services import lead_stage_change
    from pipeline.outreach.services import lead_note_add, outreach_log
    from pipeline.reminders.services import follow_up_create
    from pipeline.seller.access import seller_link_create
    from pipeline.seller.briefings import seller_briefings_set

    lead = LeadFactory(assigned_agent=agent, team=team)
    contact = ContactFactory(lead=lead, first_name="Rosa", last_name="Delgado")
    ContactFactory(lead=lead, first_name="Luis", last_name="Delgado", position=2)
    number = PhoneFactory(contact=contact, number=phone)
    EmailFactory(contact=contact, address="rosa.delgado@example.com")
    HardshipFactory(lead=lead)
    lien = LienFactory(lead=lead, position=1, balance=Decimal("200000"))
    LienFactory(lead=lead, position=2, balance=Decimal("30000"), lender="Second Bank")
    ForeclosureRecordFactory(lead=lead, recording_date=date(2026, 10, 1))
    lead_list_add(lead=lead, lead_list=LeadListFactory())
    lead_assign(lead=lead, agent=agent, team=team, actor=broker, reason="test")
    lead.refresh_from_db()
    follow_up_create(lead=lead, assignee=agent, title="Call back", due_at=timezone.now() + timedelta(days=1))
    outreach_log(lead=lead, channel="call", contact_point=number, outcome="talked", actor=agent,
                 role_disclosed=True, purpose="short_sale_listing")
    lead_stage_change(lead=lead, to_stage="contact", actor=agent)
    lead_note_add(lead=lead, author=agent, body="Spoke to Rosa.")
    lender_file_for(lien=lien)
    milestone_record(lien=lien, kind="package_submitted", occurred_on=date(2026, 11, 3), actor=agent)
    document_upload(lead=lead, kind="hardship_letter", actor=agent,
                    file=SimpleUploadedFile("hardship.pdf", b"%PDF-1.4 hardship"))
    offer_create(lead=lead, actor=agent, buyer_name="Bo Buyer", price=Decimal("210000"), financing="cash",
                 received_on=date(2026, 11, 12))
    internal_dnc_add(phone_number=phone, channel="sms", recorded_by=agent, lead=lead, homeowner_words="no texts")
    ConsentRecordFactory(phone=number)
    EstablishedRelationshipFactory(phone=number)
    InterestDisclosureFactory(lead=lead)
    RevocationReviewFactory(lead=lead, phone_number=phone)
    seller_link_create(lead=lead, actor=agent)
    seller_briefings_set(lead=lead, actor=agent, told={"timeline": date(2026, 11, 5)})
    lead_refresh_lien_total(lead=lead)  # the lien factory writes no total
    lead.refresh_from_db()
    return lead


@pytest.fixture
def pair(agent, team, broker, national_registry):
    survivor = rich_lead(agent=agent, team=team, broker=broker, phone="+19185550160")
    duplicate = rich_lead(agent=agent, team=team, broker=broker, phone="+19185550161")
    return survivor, duplicate


# The walk over every key to Lead ------------------------------------------------------------


def test_every_foreign_key_to_lead_is_moved_or_left_for_a_stated_reason():
    """A model added later with a key to Lead is moved by default; it can only be left
    behind by being append-only or named, with why, in NOT_MOVED_MODELS."""
    links = {(link.model, link.field.name): link for link in lead_links()}
    keys = [(model, field.name) for model in apps.get_models(include_auto_created=True)
            for field in model._meta.concrete_fields
            if isinstance(field, models.ForeignKey) and field.remote_field.model is Lead]
    assert keys, "no foreign key to Lead found at all"
    missing = [f"{model._meta.label}.{name}" for model, name in keys if (model, name) not in links]
    assert not missing, f"keys to Lead the merge does not walk: {missing}"
    for link in links.values():
        assert link.disposition in (MOVE, APPEND_ONLY, NOT_MOVED)
        if link.disposition == APPEND_ONLY:
            assert issubclass(link.model, AppendOnlyModel), link.label
        if link.disposition == NOT_MOVED:
            assert link.why, link.label
    assert set(NOT_MOVED_MODELS) <= {link.label for link in links.values()}, "a stale name in NOT_MOVED_MODELS"


def test_the_walk_finds_the_keys_hidden_by_related_name_plus():
    labels = {link.label: link.disposition for link in lead_links()}
    # related_name="+" on each of these: _meta.related_objects would not show them.
    assert labels["compliance.compliancecheck"] == APPEND_ONLY
    assert labels["compliance.consentrecord"] == APPEND_ONLY
    assert labels["pipeline.outreachattempt"] == APPEND_ONLY
    assert labels["compliance.revocationreview"] == MOVE
    for label in ("leads.contact", "leads.lien", "leads.listmembership", "pipeline.offer", "pipeline.followup",
                  "pipeline.stagechange", "pipeline.leadnote", "pipeline.checklistitem", "leads.lead"):
        assert labels[label] == MOVE, label
    assert labels["leads.leadmerge"] == NOT_MOVED


# Merging ----------------------------------------------------------------------------------


def test_merge_moves_every_movable_row_and_leaves_the_append_only_ones(pair, agent):
    survivor, duplicate = pair
    before = rows_of_every_model_keyed_to_lead(duplicate)
    plan = {item.link.label: item for item in merge_plan(survivor=survivor, merged=duplicate)}

    record = lead_merge(survivor=survivor, merged=duplicate, merged_by=agent)

    after = {(label, pk): lead_id for label, pk, _, lead_id, _ in rows_of_every_model_keyed_to_lead(survivor, duplicate)}
    for label, pk, name, _, _ in before:
        item = plan[label]
        expected = survivor.pk if pk in item.moving else duplicate.pk
        assert after[(label, pk)] == expected, (label, pk, item.staying.get(pk))
        if pk in item.moving:
            assert pk in record.moved[label][name]
        else:
            assert str(pk) in record.kept[label]
    # Each kind the page lists has moved
    for label in ("leads.contact", "leads.lien", "leads.hardshiprecord", "pipeline.followup", "pipeline.leadnote",
                  "pipeline.stagechange", "pipeline.offer", "pipeline.lenderfile", "compliance.revocationreview"):
        assert record.moved[label], label
    # Append-only: stayed on the merged lead
    for label in ("pipeline.outreachattempt", "compliance.compliancecheck", "compliance.consentrecord",
                  "compliance.internaldncentry", "pipeline.sellerevent"):
        assert label not in record.moved and record.kept[label], label
    # The survivor already had one: stays behind (and is named as such)
    for label in ("pipeline.sellerlink", "pipeline.sellerbriefing", "leads.foreclosurerecord"):
        assert label not in record.moved and "already has one" in next(iter(record.kept[label].values())), label


def test_merge_marks_the_duplicate_dead_and_points_it_at_the_survivor(pair, agent):
    survivor, duplicate = pair
    prior_stage = duplicate.stage
    record = lead_merge(survivor=survivor, merged=duplicate, merged_by=agent)
    duplicate.refresh_from_db()
    assert (duplicate.merged_into_id, duplicate.stage, duplicate.dead_reason) == (
        survivor.pk, Stage.DEAD, DeadReason.DUPLICATE)
    assert duplicate.merged_at == record.merged_at
    assert record.prior["merged"]["stage"] == prior_stage
    assert record.prior["merged"]["assigned_agent_id"] == agent.pk
    assert (record.survivor, record.merged, record.merged_by) == (survivor, duplicate, agent)


def test_merge_renumbers_owners_and_liens_after_the_survivors(pair, agent):
    survivor, duplicate = pair
    owners = list(duplicate.contacts.order_by("position").values_list("pk", flat=True))
    record = lead_merge(survivor=survivor, merged=duplicate, merged_by=agent)
    positions = dict(survivor.contacts.values_list("pk", "position"))
    assert [positions[pk] for pk in owners] == [3, 4]
    assert sorted(positions.values()) == [1, 2, 3, 4]
    assert sorted(survivor.liens.values_list("position", flat=True)) == [1, 2, 3, 4]
    assert record.renumbered["leads.contact"] == {str(owners[0]): 1, str(owners[1]): 2}


def test_merge_recomputes_the_lien_total_and_the_score(pair, agent):
    survivor, duplicate = pair
    lead_merge(survivor=survivor, merged=duplicate, merged_by=agent)
    survivor.refresh_from_db()
    duplicate.refresh_from_db()
    assert survivor.lien_total == Decimal("460000")
    assert duplicate.lien_total == Decimal("0")
    assert survivor.score_reasons  # rescored from its new facts


def test_a_list_both_were_on_stays_once_on_the_survivor(agent, team):
    shared = LeadListFactory()
    survivor, duplicate = LeadFactory(assigned_agent=agent), LeadFactory(assigned_agent=agent)
    from leads.services import lead_list_add

    lead_list_add(lead=survivor, lead_list=shared)
    kept = lead_list_add(lead=duplicate, lead_list=shared)
    other = lead_list_add(lead=duplicate, lead_list=LeadListFactory())
    record = lead_merge(survivor=survivor, merged=duplicate, merged_by=agent)
    assert survivor.list_memberships.count() == 2
    assert record.moved["leads.listmembership"]["lead"] == [other.pk]
    assert list(record.kept["leads.listmembership"]) == [str(kept.pk)]


def test_the_survivor_reads_the_merged_leads_evidence_through_the_merge(pair, agent):
    survivor, duplicate = pair
    third = LeadFactory(assigned_agent=agent)
    lead_merge(survivor=duplicate, merged=third, merged_by=agent)
    lead_merge(survivor=survivor, merged=duplicate, merged_by=agent)
    # The lead merged into the duplicate now counts as merged into the survivor (one level).
    assert sorted(lead_ids_with_merged(survivor)) == sorted([survivor.pk, duplicate.pk, third.pk])
    third.refresh_from_db()
    assert third.merged_into_id == survivor.pk


def test_merged_leads_leave_visible_to_but_can_be_asked_for(pair, agent, broker):
    survivor, duplicate = pair
    lead_merge(survivor=survivor, merged=duplicate, merged_by=agent)
    for user in (agent, broker):
        assert list(Lead.objects.visible_to(user).filter(pk__in=[survivor.pk, duplicate.pk])) == [survivor]
        assert Lead.objects.visible_to(user, merged=True).filter(pk=duplicate.pk).exists()


# Refusals ---------------------------------------------------------------------------------


def test_a_lead_cannot_be_merged_into_itself(lead, agent):
    with pytest.raises(ValidationError) as refused:
        lead_merge(survivor=lead, merged=lead, merged_by=agent)
    assert refused.value.messages == [SAME_LEAD]


def test_a_merged_lead_cannot_be_merged_again_nor_merged_into(agent):
    survivor, duplicate, third = (LeadFactory(assigned_agent=agent) for _ in range(3))
    lead_merge(survivor=survivor, merged=duplicate, merged_by=agent)
    for left, right in ((third, duplicate), (duplicate, third)):
        with pytest.raises(ValidationError) as refused:
            lead_merge(survivor=left, merged=right, merged_by=agent)
        duplicate.refresh_from_db()
        assert refused.value.messages == [ALREADY_MERGED.format(lead=duplicate)]
    assert LeadMerge.objects.count() == 1


# Undo ----------------------------------------------------------------------------------------


def test_undo_puts_every_row_and_the_merged_lead_back_as_they_were(pair, agent):
    survivor, duplicate = pair
    before = rows_of_every_model_keyed_to_lead(survivor, duplicate)
    fields = ("stage", "dead_reason", "stage_entered_at", "next_follow_up_at", "lien_total", "score",
              "assigned_agent_id", "team_id", "merged_into_id")
    lead_before = {lead.pk: [getattr(lead, name) for name in fields]
                   for lead in Lead.objects.filter(pk__in=[survivor.pk, duplicate.pk])}
    record = lead_merge(survivor=survivor, merged=duplicate, merged_by=agent)
    assert rows_of_every_model_keyed_to_lead(survivor, duplicate) != before

    lead_merge_undo(merge=record, undone_by=agent)

    # Only the merge record itself is new.
    assert {row for row in rows_of_every_model_keyed_to_lead(survivor, duplicate)
            if row[0] != "leads.leadmerge"} == before
    lead_after = {lead.pk: [getattr(lead, name) for name in fields]
                  for lead in Lead.objects.filter(pk__in=[survivor.pk, duplicate.pk])}
    assert lead_after == lead_before
    record.refresh_from_db()
    assert (record.undone_by, record.is_undone) == (agent, True)


def test_undo_after_24_hours_is_refused_with_when(agent):
    survivor, duplicate = LeadFactory(assigned_agent=agent), LeadFactory(assigned_agent=agent)
    record = lead_merge(survivor=survivor, merged=duplicate, merged_by=agent)
    with time_machine.travel(timezone.now() + timedelta(hours=23, minutes=59), tick=False):
        assert lead_merge_undo(merge=record, undone_by=agent).is_undone
    record = lead_merge(survivor=survivor, merged=duplicate, merged_by=agent)
    with time_machine.travel(timezone.now() + timedelta(hours=24, minutes=1), tick=False):
        with pytest.raises(ValidationError) as refused:
            lead_merge_undo(merge=record, undone_by=agent)
    assert "within 24 hours only" in refused.value.messages[0]
    duplicate.refresh_from_db()
    assert duplicate.merged_into_id == survivor.pk


def test_only_the_merger_or_a_broker_may_undo(agent, team_lead, broker):
    survivor, duplicate = LeadFactory(assigned_agent=agent), LeadFactory(assigned_agent=agent)
    record = lead_merge(survivor=survivor, merged=duplicate, merged_by=agent)
    for someone in (team_lead, AgentFactory()):
        with pytest.raises(ValidationError) as refused:
            lead_merge_undo(merge=record, undone_by=someone)
        assert refused.value.messages == [UNDO_NOT_YOURS]
    assert lead_merge_undo(merge=record, undone_by=broker).undone_by == broker
    with pytest.raises(ValidationError) as twice:
        lead_merge_undo(merge=record, undone_by=broker)
    assert twice.value.messages == [UNDO_DONE]


def test_undo_waits_for_the_survivors_own_merge_to_be_undone(agent):
    first, second, third = (LeadFactory(assigned_agent=agent) for _ in range(3))
    inner = lead_merge(survivor=second, merged=first, merged_by=agent)
    outer = lead_merge(survivor=third, merged=second, merged_by=agent)
    with pytest.raises(ValidationError) as refused:
        lead_merge_undo(merge=inner, undone_by=agent)
    second.refresh_from_db()
    assert refused.value.messages == [UNDO_SURVIVOR_MERGED.format(lead=second)]
    lead_merge_undo(merge=outer, undone_by=agent)
    first.refresh_from_db()
    assert first.merged_into_id == second.pk  # back under the lead it was merged into
    lead_merge_undo(merge=inner, undone_by=agent)
    first.refresh_from_db()
    assert first.merged_into_id is None and first.stage == Stage.LIST


# Agents and follow-ups ------------------------------------------------------------------------


def test_the_survivors_agent_keeps_it_and_gets_the_duplicates_open_follow_ups(agent, other_agent, broker):
    from pipeline.models import FollowUp
    from pipeline.reminders.services import follow_up_create

    survivor = LeadFactory(assigned_agent=agent)
    duplicate = LeadFactory(assigned_agent=other_agent)
    follow_up = follow_up_create(lead=duplicate, assignee=other_agent, title="Call back",
                                 due_at=timezone.now() + timedelta(days=1))
    record = lead_merge(survivor=survivor, merged=duplicate, merged_by=broker)
    follow_up = FollowUp.objects.get(pk=follow_up.pk)
    survivor.refresh_from_db()
    assert (follow_up.lead_id, follow_up.assignee_id, survivor.assigned_agent_id) == (survivor.pk, agent.pk, agent.pk)
    lead_merge_undo(merge=record, undone_by=broker)
    follow_up = FollowUp.objects.get(pk=follow_up.pk)
    assert (follow_up.lead_id, follow_up.assignee_id) == (duplicate.pk, other_agent.pk)


# The gate after a merge ----------------------------------------------------------------------


def test_the_gates_cap_and_consent_still_count_the_merged_leads_calls_by_number(agent, brokerage, national_registry):
    """Caps (E2) and consent (D4) are read by phone number, so a number moved with its owner
    still carries the calls and the consent recorded on the merged lead."""
    from compliance.models import Channel, Purpose
    from compliance.services import outreach_check
    from pipeline.outreach.services import outreach_log

    survivor = LeadFactory(assigned_agent=agent)
    duplicate = LeadFactory(assigned_agent=agent)
    phone = PhoneFactory(contact=ContactFactory(lead=duplicate), number="+19185550177")
    ConsentRecordFactory(phone=phone, recorded_by=agent)
    now = timezone.now()
    for hours in (3, 2, 1):
        outreach_log(lead=duplicate, channel="call", contact_point=phone, outcome="no_answer", actor=agent,
                     role_disclosed=True, occurred_at=now - timedelta(hours=hours))
    before = outreach_check(lead=duplicate, contact_point=phone, channel=Channel.SMS, actor=agent, at=now,
                            role_disclosed=True, purpose=Purpose.LISTING)
    lead_merge(survivor=survivor, merged=duplicate, merged_by=agent)
    phone.refresh_from_db()
    assert phone.contact.lead_id == survivor.pk
    after = outreach_check(lead=survivor, contact_point=phone, channel=Channel.SMS, actor=agent, at=now,
                           role_disclosed=True, purpose=Purpose.LISTING)
    assert (after.verdict, after.rule_ids) == (before.verdict, before.rule_ids)
    assert after.evidence.get("consent") == before.evidence.get("consent")
    assert after.evidence.get("consent")  # the consent on the merged lead was found


def test_evidence_of_the_merged_lead_shows_on_the_survivor_and_a_broker_revokes_it_there(
        agent, broker, brokerage, national_registry):
    """The gate reads a merged lead's consent by number, so the survivor's card must show it
    and a broker must be able to revoke it there (the merged lead's page opens the survivor)."""
    from compliance.evidence import evidence_revoke
    from compliance.models import Channel, Purpose, Verdict
    from compliance.selectors import REVOKED, lead_evidence
    from compliance.services import outreach_check

    survivor, duplicate = LeadFactory(assigned_agent=agent), LeadFactory(assigned_agent=agent)
    phone = PhoneFactory(contact=ContactFactory(lead=duplicate), number="+19185550178")
    consent = ConsentRecordFactory(phone=phone, recorded_by=agent)
    lead_merge(survivor=survivor, merged=duplicate, merged_by=agent)
    phone.refresh_from_db()
    assert [row.record for row in lead_evidence(lead=survivor, fetched_by=broker).consents] == [consent]
    evidence_revoke(lead=survivor, record=consent, reason="Signed by a tenant, not the owner.", revoked_by=broker)
    assert lead_evidence(lead=survivor, fetched_by=broker).consents[0].state == REVOKED
    text = outreach_check(lead=survivor, contact_point=phone, channel=Channel.SMS, actor=agent,
                          role_disclosed=True, purpose=Purpose.LISTING)
    assert text.verdict == Verdict.BLOCK and "D5" in text.rule_ids


# Not a duplicate -------------------------------------------------------------------------------


def test_a_dismissed_pair_is_stored_once_lower_id_first(agent):
    one, two = LeadFactory(assigned_agent=agent), LeadFactory(assigned_agent=agent)
    first = duplicate_dismiss(lead=two, other=one, dismissed_by=agent)
    again = duplicate_dismiss(lead=one, other=two, dismissed_by=agent)
    assert first == again
    assert (first.lead_low_id, first.lead_high_id) == (one.pk, two.pk)
    assert DuplicateDismissal.objects.count() == 1
    with pytest.raises(ValidationError):
        duplicate_dismiss(lead=one, other=one, dismissed_by=agent)


def test_merging_a_property_keeps_each_lead_its_own_house(agent):
    survivor = LeadFactory(assigned_agent=agent, property=PropertyFactory(street="12 Elm St"))
    duplicate = LeadFactory(assigned_agent=agent, property=PropertyFactory(street="12 Elm Street Apt 1"))
    lead_merge(survivor=survivor, merged=duplicate, merged_by=agent)
    duplicate.refresh_from_db()
    assert duplicate.property.street == "12 Elm Street Apt 1"
    assert survivor.property.street == "12 Elm St"


def test_a_listing_pitch_made_on_the_merged_lead_still_rules_out_a_pure_offer(lead, agent, national_registry):
    """C4 allows a pure offer to buy only to a homeowner never pitched a listing: a pitch
    logged on a duplicate merged into the lead still counts (docs/compliance-rules.md#c4)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from compliance.models import Purpose, Verdict
    from compliance.services import dnc_numbers_add, outreach_check
    from leadcrm.accounts.models import Brokerage, Capacity

    from ..compliance.factories import ComplianceCheckFactory

    agent.capacity = Capacity.PRINCIPAL
    agent.save()
    InterestDisclosureFactory(lead=lead, principal=agent, disclosed_on=date(2026, 11, 1))
    Brokerage.objects.filter(pk=1).update(investor_offer_opt_in_on=date(2026, 1, 1))
    phone = lead.contacts.first().phones.first()
    dnc_numbers_add(source=national_registry, numbers=[phone.number], as_of=date(2026, 11, 10))
    at = datetime(2026, 11, 18, 14, 0, tzinfo=ZoneInfo("America/Chicago"))

    def offer():
        return outreach_check(lead=lead, contact_point=phone, channel="call", actor=agent, at=at, role_disclosed=True,
                              purpose=Purpose.OFFER_TO_BUY, message="I'd like to make a cash offer.")

    assert (offer().verdict, offer().rule_ids) == (Verdict.WARN, ["C4"])
    duplicate = LeadFactory(assigned_agent=agent)
    ComplianceCheckFactory(lead=duplicate, purpose=Purpose.LISTING, checked_at=at - timedelta(days=3))
    lead_merge(survivor=lead, merged=duplicate, merged_by=agent)
    assert offer().rule_ids == ["A5"]


def test_the_edit_history_moves_with_its_rows_but_keeps_its_positions():
    """An owner's history says "Owner 1" as they were when edited: only the rows renumber."""
    from leads.merging import lead_links
    from leads.models import Contact, Lien

    links = {link.model: link for link in lead_links()}
    for model in (Contact, Lien):
        history = links[model.history.model]
        assert history.disposition == "move"
        assert history.renumbers is False and links[model].renumbers is True
        assert history.title == f"Edit history of {model._meta.verbose_name_plural}"


def test_an_owner_edited_between_merge_and_undo_takes_its_history_back(agent):
    """An edit on the survivor of an owner the merge brought: after the undo, that owner's
    history is the merged lead's again, and the survivor's timeline no longer shows it."""
    from leads import editing
    from leads.editing import lead_record_changes

    survivor, duplicate = LeadFactory(assigned_agent=agent), LeadFactory(assigned_agent=agent)
    owner = ContactFactory(lead=duplicate, first_name="Rosa", last_name="Quintanilla")
    record = lead_merge(survivor=survivor, merged=duplicate, merged_by=agent)
    owner.refresh_from_db()
    editing.owner_update(contact=owner, actor=agent, version=owner.version, last_name="Quintanila")
    def told(lead):
        return " ".join(f"{entry.sentence} {entry.changes}" for entry in lead_record_changes(lead=lead))

    assert "Quintanila" in told(survivor)

    lead_merge_undo(merge=record, undone_by=agent)

    assert "Quintanil" not in told(survivor)
    assert "Quintanila" in told(duplicate)
