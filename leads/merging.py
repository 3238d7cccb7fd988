"""Merging a duplicate lead into the one that survives, and undoing it the same day.

The mover is generic: it walks every model with a foreign key to ``Lead``
(``Lead._meta.get_fields(include_hidden=True)``, which also finds the keys declared with
``related_name="+"`` that ``_meta.related_objects`` hides), so rows of models added later,
in any app, move without a change here. Leads may not import compliance or pipeline; it
never needs to. Each model with a key to Lead gets one disposition (``lead_links``):

- moved: its rows of the merged lead now point at the survivor; an ``position`` (the
  order of owners, of liens) is renumbered after the survivor's own, and a row the
  survivor already has under a unique constraint (the same list, an accepted offer, a
  per-topic briefing, the seller link) stays on the merged lead rather than break it;
- append-only (compliance evidence, checks, the outreach log, the seller's events): they
  can be neither updated nor deleted, not even by raw SQL, so they stay on the merged lead
  and every read of a lead's evidence goes through ``lead_ids_with_merged``;
- not moved: the models in ``NOT_MOVED_MODELS``, each with the reason.

The merge record (``LeadMerge``) names every row that moved, so ``lead_merge_undo`` can put
each back. See docs/architecture.md#merging-leads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from leadcrm.accounts.roles import Perm
from leadcrm.shared.append_only import AppendOnlyModel, AppendOnlyQuerySet

from .models import DeadReason, DuplicateDismissal, Lead, LeadMerge, Stage
from .services import lead_refresh_lien_total
from .signals import leads_merged

MOVE, APPEND_ONLY, NOT_MOVED = "move", "append_only", "not_moved"

# The models with a key to Lead whose rows a merge leaves where they are, and why. A model
# is here by name, on purpose: a new one is moved unless someone decides otherwise.
NOT_MOVED_MODELS = {
    "leads.leadmerge": "the merge record names the two leads as they were merged",
    "leads.duplicatedismissal": "a judgement about one pair of leads, kept with that pair",
}
APPEND_ONLY_WHY = "append-only evidence: stays on the merged lead and is read through the merge"
# django-simple-history's record of Lead rows themselves: what a lead was, never rewritten.
LEAD_HISTORY_WHY = "the history of the lead rows themselves"
TAKEN_WHY = "the survivor already has one ({constraint})"

# Undo: 24 hours from the merge, whatever the time zones of the people involved.
UNDO_WINDOW = timedelta(hours=24)

SAME_LEAD = "A lead cannot be merged into itself: choose another lead."
NOT_A_PAIR = "A lead is not a duplicate of itself."
ALREADY_MERGED = "{lead} was already merged into another lead; it cannot be merged again."
UNDO_DONE = "This merge was already undone."
UNDO_NOT_YOURS = "Only the person who merged these leads, or a broker, may undo the merge."
UNDO_TOO_LATE = ("This merge was made on {when}; a merge can be undone within 24 hours only. "
                 "Split the lead by hand if it is wrong.")
UNDO_SURVIVOR_MERGED = "{lead} has since been merged into another lead: undo that merge first."


@dataclass(frozen=True)
class LeadLink:
    """One model's foreign key to Lead and what a merge does with its rows."""

    model: type[models.Model]
    field: models.ForeignKey
    disposition: str
    why: str = ""

    @property
    def label(self) -> str:
        return self.model._meta.label_lower

    @property
    def history_of(self) -> type[models.Model] | None:
        """The model whose edits this one records (django-simple-history's ``instance_type``)."""
        return getattr(self.model, "instance_type", None)

    @property
    def title(self) -> str:
        if self.history_of is not None:
            return f"Edit history of {self.history_of._meta.verbose_name_plural}"
        return str(self.model._meta.verbose_name_plural).capitalize()

    @property
    def renumbers(self) -> bool:
        """Rows ordered within their lead (owners, liens) go after the survivor's. Their
        history keeps the positions the rows had when each edit was made."""
        return self.history_of is None and any(
            field.name == "position" for field in self.model._meta.concrete_fields)


def _append_only(model) -> bool:
    queryset_class = getattr(model._default_manager, "_queryset_class", None)
    return issubclass(model, AppendOnlyModel) or bool(
        queryset_class and issubclass(queryset_class, AppendOnlyQuerySet))


def lead_links() -> list[LeadLink]:
    """Every foreign key to Lead in the project, with its disposition."""
    links = []
    for relation in Lead._meta.get_fields(include_hidden=True):
        if not (relation.auto_created and not relation.concrete and (relation.one_to_many or relation.one_to_one)):
            continue
        model, field = relation.related_model, relation.field
        label = model._meta.label_lower
        if label in NOT_MOVED_MODELS:
            links.append(LeadLink(model, field, NOT_MOVED, NOT_MOVED_MODELS[label]))
        elif getattr(model, "instance_type", None) is Lead:
            links.append(LeadLink(model, field, NOT_MOVED, LEAD_HISTORY_WHY))
        elif _append_only(model):
            links.append(LeadLink(model, field, APPEND_ONLY, APPEND_ONLY_WHY))
        else:
            links.append(LeadLink(model, field, MOVE))
    return links


def _unique_sets(link: LeadLink) -> list[tuple[tuple[str, ...], models.Q | None, str]]:
    """The unique constraints that include the key to Lead: (other fields, condition, name)."""
    meta, name = link.model._meta, link.field.name
    sets = []
    if link.field.unique:  # a one-to-one: one row per lead
        sets.append(((), None, f"one per lead: {name}"))
    for constraint in meta.constraints:
        if isinstance(constraint, models.UniqueConstraint) and name in (constraint.fields or ()):
            others = tuple(field for field in constraint.fields if field != name)
            sets.append((others, constraint.condition, constraint.name))
    for together in meta.unique_together:
        if name in together:
            sets.append((tuple(field for field in together if field != name), None, "+".join(together)))
    # A position is renumbered after the survivor's instead (``LeadLink.renumbers``).
    return [entry for entry in sets if not (link.renumbers and "position" in entry[0])]


def _taken(link: LeadLink, survivor_id: int, merged_id: int) -> dict[int, str]:
    """Rows of the merged lead the survivor already has under a unique constraint: id -> why."""
    manager, attname = link.model._base_manager, link.field.attname
    taken: dict[int, str] = {}
    for others, condition, constraint in _unique_sets(link):
        mine = manager.filter(**{attname: survivor_id})
        theirs = manager.filter(**{attname: merged_id})
        if condition is not None:
            mine, theirs = mine.filter(condition), theirs.filter(condition)
        if not others:
            if mine.exists():
                taken.update(dict.fromkeys(theirs.values_list("pk", flat=True), TAKEN_WHY.format(constraint=constraint)))
            continue
        held = set(mine.values_list(*others))
        for pk, *values in theirs.values_list("pk", *others):
            # NULLs never collide under a unique constraint.
            if None not in values and tuple(values) in held:
                taken[pk] = TAKEN_WHY.format(constraint=constraint)
    return taken


@dataclass(frozen=True)
class PlannedMove:
    link: LeadLink
    moving: list[int]
    staying: dict[int, str]  # id -> why


def merge_plan(*, survivor: Lead, merged: Lead) -> list[PlannedMove]:
    """What a merge would do, model by model (the preview; the merge follows it)."""
    plan = []
    for link in lead_links():
        manager, attname = link.model._base_manager, link.field.attname
        ids = list(manager.filter(**{attname: merged.pk}).order_by("pk").values_list("pk", flat=True))
        if not ids:
            continue
        if link.disposition != MOVE:
            plan.append(PlannedMove(link, [], dict.fromkeys(ids, link.why)))
            continue
        taken = _taken(link, survivor.pk, merged.pk)
        plan.append(PlannedMove(link, [pk for pk in ids if pk not in taken], taken))
    return plan


def lead_ids_with_merged(lead: Lead):
    """The lead's id and the ids of every lead merged into it, as a lazy queryset of ids.

    Append-only rows (compliance checks and evidence, the outreach log) cannot move, so a
    read of a lead's evidence filters ``lead_id__in=lead_ids_with_merged(lead)``: a
    subquery, no extra round trip (``list()`` it for the ids). A merge re-points the leads
    merged into the merged lead at the survivor, so one level is all there is.
    """
    return (Lead.objects.filter(models.Q(pk=lead.pk) | models.Q(merged_into=lead.pk))
            .order_by().values_list("pk", flat=True))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _moment(value: str | None) -> datetime | None:
    return parse_datetime(value) if value else None


MERGED_FIELDS = ("stage", "dead_reason", "stage_entered_at", "next_follow_up_at", "pond_since", "claimed_at",
                 "claim_deadline", "assigned_agent_id", "team_id")
SURVIVOR_FIELDS = ("next_follow_up_at", "last_contacted_at")


def _snapshot(lead: Lead, fields) -> dict:
    return {name: _iso(value) if isinstance(value, datetime) else value
            for name in fields for value in [getattr(lead, name)]}


def _locked(*leads: Lead) -> list[Lead]:
    """The leads again, row-locked in id order (two merges of one pair cannot deadlock)."""
    rows = {lead.pk: lead for lead in Lead.objects.select_for_update(of=("self",))
            .select_related("property").filter(pk__in=[lead.pk for lead in leads]).order_by("pk")}
    return [rows[lead.pk] for lead in leads]


def _move(planned: PlannedMove, survivor: Lead, merged: Lead) -> dict[str, int]:
    """Point the planned rows at the survivor; returns the old positions renumbered."""
    link = planned.link
    manager, attname = link.model._base_manager, link.field.attname
    if not link.renumbers:
        manager.filter(pk__in=planned.moving, **{attname: merged.pk}).update(**{attname: survivor.pk})
        return {}
    start = manager.filter(**{attname: survivor.pk}).aggregate(top=Max("position"))["top"] or 0
    rows = list(manager.filter(pk__in=planned.moving, **{attname: merged.pk}).order_by("position", "pk"))
    old = {}
    for number, row in enumerate(rows, start=start + 1):
        old[str(row.pk)] = row.position
        row.position = number
        setattr(row, attname, survivor.pk)
    # Key and position in one statement, so no (lead, position) pair is ever held twice.
    manager.bulk_update(rows, [link.field.name, "position"])
    return old


@transaction.atomic
def lead_merge(*, survivor: Lead, merged: Lead, merged_by, now: datetime | None = None) -> LeadMerge:
    """Merge ``merged`` into ``survivor``: its rows move, it is marked dead as a duplicate.

    The caller has checked that ``merged_by`` may see both leads (a 404 otherwise); the
    survivor keeps its agent. Raises ValidationError with the reason when refused.
    """
    now = now or timezone.now()
    if survivor.pk == merged.pk:
        raise ValidationError(SAME_LEAD)
    survivor, merged = _locked(survivor, merged)
    for lead in (merged, survivor):
        lead.refuse_if_erased()
        if lead.merged_into_id is not None:
            raise ValidationError(ALREADY_MERGED.format(lead=lead))
    prior = {"merged": _snapshot(merged, MERGED_FIELDS), "survivor": _snapshot(survivor, SURVIVOR_FIELDS)}
    moved, renumbered, kept = {}, {}, {}
    for planned in merge_plan(survivor=survivor, merged=merged):
        label = planned.link.label
        if planned.moving:
            old = _move(planned, survivor, merged)
            moved.setdefault(label, {})[planned.link.field.name] = planned.moving
            if old:
                renumbered.setdefault(label, {}).update(old)
        if planned.staying:
            kept.setdefault(label, {}).update({str(pk): why for pk, why in planned.staying.items()})

    # The survivor is due when either was due first and was last reached when either was.
    dues = [moment for moment in (survivor.next_follow_up_at, merged.next_follow_up_at) if moment]
    reached = [moment for moment in (survivor.last_contacted_at, merged.last_contacted_at) if moment]
    survivor.next_follow_up_at = min(dues) if dues else None
    survivor.last_contacted_at = max(reached) if reached else None
    survivor.full_clean()
    survivor.save(update_fields=[*SURVIVOR_FIELDS, "updated_at"])
    prior["survivor_after"] = _snapshot(survivor, SURVIVOR_FIELDS)

    merged.merged_into, merged.merged_at = survivor, now
    merged.stage, merged.dead_reason, merged.stage_entered_at = Stage.DEAD, DeadReason.DUPLICATE, now
    merged.next_follow_up_at = merged.pond_since = merged.claimed_at = merged.claim_deadline = None
    merged.full_clean()
    merged.save(update_fields=["merged_into", "merged_at", "stage", "dead_reason", "stage_entered_at",
                               "next_follow_up_at", "pond_since", "claimed_at", "claim_deadline", "updated_at"])
    # Liens moved: both totals and scores follow (the survivor's may now count more lists).
    lead_refresh_lien_total(lead=survivor)
    lead_refresh_lien_total(lead=merged)

    record = LeadMerge(survivor=survivor, merged=merged, merged_by=merged_by, merged_at=now, moved=moved,
                       renumbered=renumbered, kept=kept, prior=prior)
    record.full_clean()
    record.save()
    _tell(lead=survivor, from_agent_id=merged.assigned_agent_id, to_agent=survivor.assigned_agent, now=now,
          merge=record, undone=False)
    return record


def _tell(*, lead: Lead, from_agent_id, to_agent, now, merge: LeadMerge, undone: bool) -> None:
    """Tell the apps above: what the other agent held for the rows (follow-ups) follows them."""
    if to_agent is None or from_agent_id is None or from_agent_id == to_agent.pk:
        return
    leads_merged.send(sender=Lead, lead=lead, from_agent_id=from_agent_id, to_agent=to_agent, now=now,
                      merge=merge, undone=undone)


def can_undo(*, merge: LeadMerge, user, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    return (merge.undone_at is None and now - merge.merged_at <= UNDO_WINDOW
            and (merge.merged_by_id == user.pk or user.has_perm(Perm.VIEW_ALL_LEADS)))


@transaction.atomic
def _history_goes_back(model, name: str, ids: list, *, survivor: Lead, merged: Lead) -> None:
    """The edit history of rows going back goes back whole: the rows the merge moved by
    their own ids, and those written since the merge (an owner edited on the survivor), by
    the ids of the rows they record. Else the survivor's timeline would keep showing them."""
    history = getattr(getattr(model, "history", None), "model", None)
    if history is None or getattr(model, "instance_type", None) is not None:
        return
    attname = history._meta.get_field(name).attname
    history._base_manager.filter(id__in=ids, **{attname: survivor.pk}).update(**{attname: merged.pk})


def lead_merge_undo(*, merge: LeadMerge, undone_by, now: datetime | None = None) -> LeadMerge:
    """Put every moved row back on the merged lead and restore it, within 24 hours."""
    now = now or timezone.now()
    merge = LeadMerge.objects.select_for_update().get(pk=merge.pk)
    if merge.undone_at is not None:
        raise ValidationError(UNDO_DONE)
    if merge.merged_by_id != undone_by.pk and not undone_by.has_perm(Perm.VIEW_ALL_LEADS):
        raise ValidationError(UNDO_NOT_YOURS)
    if now - merge.merged_at > UNDO_WINDOW:
        when = timezone.localtime(merge.merged_at).strftime("%b %-d, %Y at %-I:%M %p")
        raise ValidationError(UNDO_TOO_LATE.format(when=when))
    survivor, merged = _locked(merge.survivor, merge.merged)
    if survivor.merged_into_id is not None:
        raise ValidationError(UNDO_SURVIVOR_MERGED.format(lead=survivor))

    for label, fields in merge.moved.items():
        try:
            model = apps.get_model(label)
        except LookupError:  # the model was removed since: nothing of it to put back
            continue
        positions = merge.renumbered.get(label, {})
        for name, ids in fields.items():
            field = model._meta.get_field(name)
            rows = model._base_manager.filter(pk__in=ids, **{field.attname: survivor.pk})
            _history_goes_back(model, name, ids, survivor=survivor, merged=merged)
            if not positions:
                rows.update(**{field.attname: merged.pk})
                continue
            rows = list(rows)
            for row in rows:
                setattr(row, field.attname, merged.pk)
                row.position = positions.get(str(row.pk), row.position)
            model._base_manager.bulk_update(rows, [name, "position"])

    before, after = merge.prior.get("merged", {}), merge.prior.get("survivor_after", {})
    for name in ("stage", "dead_reason"):
        setattr(merged, name, before.get(name, getattr(merged, name)))
    for name in ("stage_entered_at", "next_follow_up_at", "pond_since", "claimed_at", "claim_deadline"):
        setattr(merged, name, _moment(before.get(name)))
    merged.merged_into = merged.merged_at = None
    merged.full_clean()
    merged.save(update_fields=["merged_into", "merged_at", "stage", "dead_reason", "stage_entered_at",
                               "next_follow_up_at", "pond_since", "claimed_at", "claim_deadline", "updated_at"])
    # The survivor's dates go back unless they changed since the merge (a call, a follow-up).
    survivor_before, changed = merge.prior.get("survivor", {}), []
    for name in SURVIVOR_FIELDS:
        if _iso(getattr(survivor, name)) == after.get(name) and name in survivor_before:
            setattr(survivor, name, _moment(survivor_before[name]))
            changed.append(name)
    if changed:
        survivor.save(update_fields=[*changed, "updated_at"])
    lead_refresh_lien_total(lead=survivor)
    lead_refresh_lien_total(lead=merged)

    merge.undone_at, merge.undone_by = now, undone_by
    merge.save(update_fields=["undone_at", "undone_by"])
    _tell(lead=merged, from_agent_id=survivor.assigned_agent_id, to_agent=merged.assigned_agent, now=now,
          merge=merge, undone=True)
    return merge


def duplicate_dismiss(*, lead: Lead, other: Lead, dismissed_by) -> DuplicateDismissal:
    """Remember that two leads are not the same homeowner or house (once per pair)."""
    if lead.pk == other.pk:
        raise ValidationError(NOT_A_PAIR)
    low, high = sorted((lead.pk, other.pk))
    existing = DuplicateDismissal.objects.filter(lead_low_id=low, lead_high_id=high).first()
    if existing is not None:
        return existing
    dismissal = DuplicateDismissal(lead_low_id=low, lead_high_id=high, dismissed_by=dismissed_by)
    dismissal.full_clean()
    dismissal.save()
    return dismissal
