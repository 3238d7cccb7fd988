"""Reads of users and teams, scoped by who is asking."""

from django.db.models import Q, QuerySet

from .models import Team, User
from .roles import Perm


def users_assignable_by(user: User) -> QuerySet[User]:
    """Whom ``user`` may give a lead or a follow-up to.

    Brokers: every active user. Team leads: themselves and the active members of the
    teams they lead. Agents: themselves. Never an integration: it works no leads of its own.
    """
    active = User.objects.filter(is_active=True, is_integration=False)
    if user.has_perm(Perm.VIEW_ALL_LEADS):
        return active
    if user.has_perm(Perm.VIEW_TEAM_LEADS):
        return active.filter(
            Q(pk=user.pk)
            | Q(team_membership__team__lead=user, team_membership__is_active=True)
        ).distinct()
    return active.filter(pk=user.pk)


def teams_visible_to(user: User) -> QuerySet[Team]:
    if user.has_perm(Perm.VIEW_ALL_LEADS):
        return Team.objects.all()
    return Team.objects.filter(lead=user)


def teams_routable_by(user: User) -> QuerySet[Team]:
    """Teams ``user`` may route leads into (round-robin, a team's pond): their own as a team
    lead; every team for a broker; none for an agent."""
    if not user.has_perm(Perm.ASSIGN_LEADS):
        return Team.objects.none()
    return teams_visible_to(user)


def users_visible_to(user: User) -> QuerySet[User]:
    """Whose account record ``user`` may read (the admin's user pages).

    Brokers: everyone. Team leads: themselves and whoever is on a team they lead, active
    or not, so a departed member's record stays theirs to look up. Agents: themselves.
    """
    if user.has_perm(Perm.VIEW_ALL_LEADS):
        return User.objects.all()
    if user.has_perm(Perm.VIEW_TEAM_LEADS):
        return User.objects.filter(Q(pk=user.pk) | Q(team_membership__team__lead=user))
    return User.objects.filter(pk=user.pk)
