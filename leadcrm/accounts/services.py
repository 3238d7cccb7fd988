"""Writes to users, roles and teams."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db import transaction

from .models import Team, TeamMembership, User
from .roles import ROLE_PERMISSIONS, STAFF_ROLES, Role
from .signals import user_preferences_changed

UNKNOWN_PERMISSION = "Role table names a permission that does not exist: {perm}"


def role_groups_sync() -> None:
    """Make one group per role hold exactly the permissions ``ROLE_PERMISSIONS`` lists.

    Runs after every ``migrate``; an unknown permission name is a programming error.
    """
    wanted = {perm for perms in ROLE_PERMISSIONS.values() for perm in perms}
    by_name = {}
    for permission in Permission.objects.select_related("content_type"):
        by_name[f"{permission.content_type.app_label}.{permission.codename}"] = permission
    missing = sorted(wanted - by_name.keys())
    if missing:
        raise LookupError(UNKNOWN_PERMISSION.format(perm=", ".join(missing)))
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role.label)
        group.permissions.set([by_name[perm] for perm in perms])


@transaction.atomic
def user_set_role(*, user: User, role: Role) -> User:
    """Put the user in exactly one role group; team leads and brokers get the admin."""
    role_groups = Group.objects.filter(name__in=[r.label for r in Role])
    user.groups.remove(*role_groups)
    user.groups.add(Group.objects.get(name=role.label))
    user.is_staff = role in STAFF_ROLES or user.is_superuser
    user.save(update_fields=["is_staff"])
    user.__dict__.pop("role", None)  # drop the cached_property
    return user


@transaction.atomic
def user_create(
    *,
    username: str,
    role: Role,
    password: str | None = None,
    **fields,
) -> User:
    user = User(username=username, **fields)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    return user_set_role(user=user, role=role)


@transaction.atomic
def team_create(*, name: str, lead: User) -> Team:
    team = Team(name=name, lead=lead)
    team.full_clean()
    team.save()
    return team


@transaction.atomic
def team_member_set(*, team: Team, user: User, capacity_weight: int = 1) -> TeamMembership:
    """Put an agent on a team, moving them off any team they were on."""
    membership, _ = TeamMembership.objects.update_or_create(
        user=user, defaults={"team": team, "capacity_weight": capacity_weight, "is_active": True}
    )
    return membership


PREFERENCE_FIELDS = ("time_zone", "work_starts", "work_ends", "work_days", "email", "email_reminders",
                     "call_phone")


def user_preferences_update(*, user: User, **changes) -> User:
    """The user's own settings: time zone, working hours and days, reminder email.

    Whatever waits on the user's hours is re-timed in the same transaction (receivers
    of ``user_preferences_changed``: open follow-ups not yet announced), so a change of
    working day applies to reminders already waiting.
    """
    unknown = set(changes) - set(PREFERENCE_FIELDS)
    if unknown:
        raise TypeError(f"Not a preference: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        for name, value in changes.items():
            setattr(user, name, value)
        user.full_clean()
        user.save(update_fields=[*changes])
        user_preferences_changed.send(sender=User, user=user)
    return user


def user_sessions_end(*, user: User, request=None) -> User:
    """Sign the user out of every session but ``request``'s: raising the epoch changes the
    hash each session was signed in with (``User._get_session_auth_hash``), so the others
    end on their next request, whether read from the cache or the database; the one
    making the change is re-signed with the new hash and stays."""
    from django.contrib.auth import update_session_auth_hash
    from django.db.models import F

    User.objects.filter(pk=user.pk).update(session_epoch=F("session_epoch") + 1)
    user.refresh_from_db(fields=["session_epoch"])
    if request is not None:
        update_session_auth_hash(request, user)
    return user


AUTOMATION_USERNAME = "leadcrm-automatic"


def automation_user() -> User:
    """Who records what no person did: a STOP texted in from a number no lead has, a
    provider's report. It cannot sign in (no password, inactive) and holds no role."""
    user, created = User.objects.get_or_create(
        username=AUTOMATION_USERNAME,
        defaults={"first_name": "LeadCRM", "last_name": "(automatic)", "is_active": False,
                  "license_status": "unlicensed", "capacity": "principal"},
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user
