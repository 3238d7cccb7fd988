"""Tags on leads: who may use and create which, and putting them on and off a lead.

A tag is in a team's vocabulary or the whole brokerage's (team empty). Anyone uses the
tags of their own teams and the brokerage's. Typing a name that is not there yet creates
it in the team the user works in: a team builds its own words as it needs them, and one
team's words never clutter another's. The brokerage-wide words are the broker's to keep
(a broker typing a new one, or the admin), so every team sees a short, tidy list."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from leadcrm.accounts.models import Team, User
from leadcrm.accounts.roles import Perm

from .models import TAG_NAME_MAX_LENGTH, Lead, LeadTag, Tag, TagColour

TAG_NAME_EMPTY = "Give the tag a name."
TAG_NAME_TOO_LONG = f"A tag is at most {TAG_NAME_MAX_LENGTH} characters."
TAG_NO_TEAM = ("You are on no team, so there is no team vocabulary to add a new tag to; "
               "pick an existing tag or ask your broker for a brokerage-wide one.")
TAG_NOT_YOURS = "That tag belongs to another team's vocabulary."
TAG_SCOPE_NOT_YOURS = "You may only add tags to your own team's vocabulary."


def _is_broker(user: User) -> bool:
    # An integration key's user sees every lead too, but keeps no vocabulary of the
    # brokerage's: it uses the brokerage-wide tags as they are.
    return user.has_perm(Perm.VIEW_ALL_LEADS) and not getattr(user, "is_integration", False)


def team_ids_of(user: User) -> QuerySet:
    """The teams ``user`` works in: the one they are a member of and those they lead (a
    subquery, read inside the query that uses it)."""
    return Team.objects.filter(Q(lead=user) | Q(memberships__user=user, memberships__is_active=True)).values("pk")


def tags_usable_by(user: User) -> QuerySet[Tag]:
    """The tags ``user`` may see, put on leads and filter by: the brokerage's and those of
    their teams; a broker's, every one."""
    if user is None or not user.is_authenticated:
        return Tag.objects.none()
    if _is_broker(user):
        return Tag.objects.all()
    return Tag.objects.filter(Q(team=None) | Q(team__in=team_ids_of(user)))


def tag_get(*, fetched_by: User, pk) -> Tag:
    """One tag the user may use, or 404: another team's tag is not there for them."""
    return get_object_or_404(tags_usable_by(fetched_by), pk=pk)


def lead_tags_of(*, lead_ids, user: User) -> dict[int, list[Tag]]:
    """Each lead's tags the user may see, by name: one query for a page of rows."""
    tags: dict[int, list[Tag]] = {}
    rows = (LeadTag.objects.filter(lead_id__in=list(lead_ids), tag__in=tags_usable_by(user))
            .select_related("tag").order_by("tag__name", "tag_id"))
    for row in rows:
        tags.setdefault(row.lead_id, []).append(row.tag)
    return tags


def home_team_of(user: User, *, lead: Lead | None = None) -> Team | None:
    """The vocabulary a new tag typed by ``user`` goes into: the lead's team when they work
    in it, else the team they are a member of, else the first they lead."""
    teams = list(Team.objects.filter(pk__in=team_ids_of(user)).order_by("pk"))
    if lead is not None and lead.team_id in {team.pk for team in teams}:
        return next(team for team in teams if team.pk == lead.team_id)
    member_of = [team for team in teams if team.lead_id != user.pk]
    return (member_of or teams or [None])[0]


def clean_tag_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": TAG_NAME_EMPTY})
    if len(name) > TAG_NAME_MAX_LENGTH:
        raise ValidationError({"name": TAG_NAME_TOO_LONG})
    return name


def tag_create(*, name: str, team: Team | None, actor: User, colour: str = TagColour.GREY) -> Tag:
    """A new tag in ``team``'s vocabulary (None: the brokerage's, for brokers only)."""
    if not _is_broker(actor) and (team is None or not Team.objects.filter(pk=team.pk, pk__in=team_ids_of(actor))
                                  .exists()):
        raise ValidationError({"name": TAG_SCOPE_NOT_YOURS})
    tag = Tag(name=clean_tag_name(name), team=team, colour=colour, created_by=actor)
    tag.full_clean()  # the case-blind unique name per scope says "already exists"
    tag.save()
    return tag


def tag_for_name(*, name: str, actor: User, lead: Lead | None = None) -> Tag:
    """The tag ``actor`` means by a typed name: one they may use already (whatever its
    case; their team's before the brokerage's), else a new one in their team."""
    name = clean_tag_name(name)
    existing = list(tags_usable_by(actor).filter(name__iexact=name))
    if existing:
        # Their own team's word first, then the brokerage's.
        existing.sort(key=lambda tag: (tag.team_id is None, tag.pk))
        return existing[0]
    if _is_broker(actor):
        team = None
    else:
        team = home_team_of(actor, lead=lead)
        if team is None:
            raise ValidationError({"name": TAG_NO_TEAM})
    return tag_create(name=name, team=team, actor=actor)


def _check_usable(tag: Tag, actor: User) -> None:
    if not tags_usable_by(actor).filter(pk=tag.pk).exists():
        raise ValidationError({"tag": TAG_NOT_YOURS})


def lead_tag_add(*, lead: Lead, tag: Tag, actor: User) -> LeadTag:
    """Put ``tag`` on ``lead`` (once: adding it again changes nothing)."""
    lead.refuse_if_erased()
    _check_usable(tag, actor)
    with transaction.atomic():
        existing = LeadTag.objects.filter(lead=lead, tag=tag).first()
        if existing is not None:
            return existing
        row = LeadTag(lead=lead, tag=tag, added_by=actor)
        row.full_clean(validate_constraints=False)  # lead_tag_once: checked just above, enforced below
        LeadTag.objects.bulk_create([row], ignore_conflicts=True)
        _touch(lead)
        return LeadTag.objects.get(lead=lead, tag=tag)


def lead_tag_remove(*, lead: Lead, tag: Tag, actor: User) -> bool:
    """Take ``tag`` off ``lead``; False when it was not on it."""
    lead.refuse_if_erased()
    _check_usable(tag, actor)
    deleted, _ = LeadTag.objects.filter(lead=lead, tag=tag).delete()
    if deleted:
        _touch(lead)
    return bool(deleted)


def _touch(lead: Lead) -> None:
    """A lead's tags are part of what the API shows of it: a change moves its ``updated_at``
    so a client syncing by change reads it again (docs/architecture.md#api-sync)."""
    Lead.objects.filter(pk=lead.pk).update(updated_at=timezone.now())


def leads_tag_add(*, leads: list[Lead], tag: Tag, actor: User) -> int:
    """Put ``tag`` on every lead of ``leads`` that lacks it, in one insert; how many got it."""
    _check_usable(tag, actor)
    ids = [lead.pk for lead in leads]
    with transaction.atomic():
        having = set(LeadTag.objects.filter(tag=tag, lead_id__in=ids).values_list("lead_id", flat=True))
        rows = [LeadTag(lead_id=pk, tag=tag, added_by=actor) for pk in ids if pk not in having]
        LeadTag.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def leads_tag_remove(*, leads: list[Lead], tag: Tag, actor: User) -> int:
    """Take ``tag`` off every lead of ``leads``, in one delete; how many had it."""
    _check_usable(tag, actor)
    deleted, _ = LeadTag.objects.filter(tag=tag, lead_id__in=[lead.pk for lead in leads]).delete()
    return deleted


def lead_tagging(*, lead: Lead, user: User) -> dict:
    """What the lead page's tag line shows: the lead's tags the user may see, and the
    tags they may still put on it (one query each)."""
    usable = list(tags_usable_by(user).order_by("name"))
    on_lead = set(LeadTag.objects.filter(lead=lead, tag__in=[tag.pk for tag in usable])
                  .values_list("tag_id", flat=True))
    return {"tags": [tag for tag in usable if tag.pk in on_lead],
            "addable": [tag for tag in usable if tag.pk not in on_lead]}


def leads_attach_tags(leads: list[Lead], *, user: User) -> None:
    """Give each lead of a page of rows its ``tag_list`` (the tags the user may see)."""
    tags = lead_tags_of(lead_ids=[lead.pk for lead in leads], user=user)
    for lead in leads:
        lead.tag_list = tags.get(lead.pk, [])
