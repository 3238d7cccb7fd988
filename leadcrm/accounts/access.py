"""A user's permissions and group names, kept in the cache between requests.

Django's ``ModelBackend`` reads them with two queries on every request that checks a
permission (every page does: the lead visibility rule and the navigation), and the role
(``User.role``) with a third. They change when a broker moves someone between roles, a
few times a month: so they are cached per user, and forgotten the moment anything they
are made of changes (the signals below, in every process that shares the cache). The
time limit only bounds what a change made outside Django's ORM could leave stale.

A change made in a transaction is forgotten twice: at once, and again when the
transaction commits. In between, another request still reads the rows as they were
before the change and may cache them again; the second forgetting drops what it cached.
Who is affected is worked out before the change when the change itself removes the
rows that say so (a group cleared or deleted, a permission deleted).

The key holds the user's ``is_superuser`` and ``is_active``, which are read from the
user row on every request: flipping either (even by ``QuerySet.update``, which sends
no signal) reaches a key nothing was cached under. A superuser's permissions, every
permission there is, are not cached at all: they are few, and a cached copy would miss
a permission added later.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial

from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete
from django.dispatch import receiver

ACCESS_SECONDS = 300


@dataclass(frozen=True)
class Access:
    permissions: frozenset[str]  # "app_label.codename", as ModelBackend gives them
    group_names: frozenset[str]


def _key(user_pk: int, *, is_superuser: bool, is_active: bool) -> str:
    return f"accounts:access:{user_pk}:{'s' if is_superuser else '-'}{'a' if is_active else '-'}"


def _keys(user_pk: int) -> list[str]:
    """Every key the user's access may be held under."""
    return [_key(user_pk, is_superuser=s, is_active=a) for s in (False, True) for a in (False, True)]


def _read(user) -> Access:
    from django.contrib.auth.backends import ModelBackend

    backend = ModelBackend()
    return Access(
        permissions=frozenset({*backend.get_user_permissions(user), *backend.get_group_permissions(user)}),
        group_names=frozenset(user.groups.values_list("name", flat=True)),
    )


def access_of(user) -> Access:
    """The user's permissions and groups: once a request, from the cache when held
    (a superuser's: read each request)."""
    held = getattr(user, "_access", None)
    if held is None:
        if user.is_superuser:
            held = _read(user)
        else:
            key = _key(user.pk, is_superuser=False, is_active=user.is_active)
            held = cache.get(key)
            if held is None:
                held = _read(user)
                cache.set(key, held, ACCESS_SECONDS)
        user._access = held
    return held


def access_forget(*user_pks) -> None:
    """Forget the users' cached access now (every key each may be held under)."""
    cache.delete_many([key for pk in user_pks if pk for key in _keys(pk)])


def access_forget_changed(user_pks: Iterable[int], *, using: str | None = None) -> None:
    """Forget the users' cached access now and again when the current transaction on
    ``using`` commits (at once too, outside a transaction): a request that read the rows
    before the commit may have cached them again meanwhile."""
    pks = sorted({pk for pk in user_pks if pk})
    if not pks:
        return
    access_forget(*pks)
    transaction.on_commit(partial(access_forget, *pks), using=using)


def _members(groups, *, using: str | None = None) -> list[int]:
    """The users in any of ``groups`` (groups or their ids), as the rows say now."""
    return list(Group.user_set.through.objects.using(using).filter(group__in=groups)
                .values_list("user_id", flat=True).distinct())


def _holders(permission: Permission, *, using: str | None = None) -> list[int]:
    """The users holding ``permission`` themselves or through any group."""
    from django.contrib.auth import get_user_model

    direct = get_user_model().user_permissions.through.objects.using(using).filter(permission=permission.pk)
    groups = Group.permissions.through.objects.using(using).filter(permission=permission.pk).values("group_id")
    return [*direct.values_list("user_id", flat=True), *_members(groups, using=using)]


def _connect() -> None:
    from django.contrib.auth import get_user_model

    User = get_user_model()

    def _users_relation_changed(instance, action, pk_set, using, holders):
        """A users-to-something relation changed. From the user's side: that user. From the
        other side: the users named, or on clear its holders (``holders(pk)``), read before
        they are removed."""
        if isinstance(instance, User):
            if action in ("post_add", "post_remove", "post_clear"):
                access_forget_changed([instance.pk], using=using)
        elif action in ("post_add", "post_remove"):
            access_forget_changed(pk_set or [], using=using)
        elif action == "pre_clear":
            access_forget_changed(holders(instance.pk), using=using)

    @receiver(m2m_changed, sender=User.groups.through, weak=False)
    def _groups_changed(sender, instance, action, pk_set, using, **kwargs):
        # user.groups...; group.user_set...: its members.
        _users_relation_changed(instance, action, pk_set, using,
                                lambda group_pk: _members([group_pk], using=using))

    @receiver(m2m_changed, sender=User.user_permissions.through, weak=False)
    def _user_permissions_changed(sender, instance, action, pk_set, using, **kwargs):
        # user.user_permissions...; permission.user_set...: the users holding it directly.
        _users_relation_changed(instance, action, pk_set, using, lambda permission_pk: list(
            sender.objects.using(using).filter(permission=permission_pk).values_list("user_id", flat=True)))

    @receiver(m2m_changed, sender=Group.permissions.through, weak=False)
    def _group_permissions_changed(sender, instance, action, pk_set, using, **kwargs):
        # group.permissions...: the group's members, who stay its members whatever the
        # action. permission.group_set.add/remove(...): members of the groups named;
        # permission.group_set.clear(): members of its groups, read before they are removed.
        if isinstance(instance, Group):
            if action in ("post_add", "post_remove", "post_clear"):
                access_forget_changed(_members([instance.pk], using=using), using=using)
        elif action in ("post_add", "post_remove"):
            access_forget_changed(_members(list(pk_set or []), using=using), using=using)
        elif action == "pre_clear":
            groups = Group.permissions.through.objects.using(using).filter(permission=instance.pk).values("group_id")
            access_forget_changed(_members(groups, using=using), using=using)

    @receiver(post_save, sender=User, weak=False)
    @receiver(post_delete, sender=User, weak=False)
    def _user_changed(sender, instance, using, **kwargs):
        # is_superuser or is_active may have changed (both are in the key as well).
        access_forget_changed([instance.pk], using=using)

    @receiver(pre_delete, sender=Group, weak=False)
    @receiver(post_save, sender=Group, weak=False)
    def _group_changed(sender, instance, using, **kwargs):
        # Before a delete: its memberships go with it.
        access_forget_changed(_members([instance.pk], using=using), using=using)

    @receiver(pre_delete, sender=Permission, weak=False)
    @receiver(post_save, sender=Permission, weak=False)
    def _permission_changed(sender, instance, using, **kwargs):
        # Deleted (read before its grants go with it) or renamed: everyone holding it.
        access_forget_changed(_holders(instance, using=using), using=using)
