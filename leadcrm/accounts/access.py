"""A user's permissions and group names, kept in the cache between requests.

Django's ``ModelBackend`` reads them with two queries on every request that checks a
permission (every page does: the lead visibility rule and the navigation), and the role
(``User.role``) with a third. They change when a broker moves someone between roles, a
few times a month: so they are cached per user, and forgotten the moment anything they
are made of changes (the signals below, in every process that shares the cache). The
time limit only bounds what a change made outside Django's ORM could leave stale.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete
from django.dispatch import receiver

ACCESS_SECONDS = 300


@dataclass(frozen=True)
class Access:
    permissions: frozenset[str]  # "app_label.codename", as ModelBackend gives them
    group_names: frozenset[str]


def _key(user_pk: int) -> str:
    return f"accounts:access:{user_pk}"


def access_of(user) -> Access:
    """The user's permissions and groups: once a request, from the cache when held."""
    held = getattr(user, "_access", None)
    if held is None:
        held = cache.get(_key(user.pk))
        if held is None:
            from django.contrib.auth.backends import ModelBackend

            backend = ModelBackend()
            held = Access(
                permissions=frozenset({*backend.get_user_permissions(user), *backend.get_group_permissions(user)}),
                group_names=frozenset(user.groups.values_list("name", flat=True)),
            )
            cache.set(_key(user.pk), held, ACCESS_SECONDS)
        user._access = held
    return held


def access_forget(*user_pks) -> None:
    cache.delete_many([_key(pk) for pk in user_pks if pk])


def _members(groups) -> list[int]:
    from django.contrib.auth import get_user_model

    return list(get_user_model().objects.filter(groups__in=groups).values_list("pk", flat=True))


def _connect() -> None:
    from django.contrib.auth import get_user_model

    User = get_user_model()

    @receiver(m2m_changed, sender=User.groups.through, weak=False)
    def _groups_changed(sender, instance, action, reverse, pk_set, **kwargs):
        if action.startswith("post_") or action == "pre_clear":
            # user.groups.add(...) (instance: a user) or group.user_set.add(...) (instance: a group)
            if isinstance(instance, User):
                access_forget(instance.pk)
            else:
                access_forget(*(pk_set or _members([instance])))

    @receiver(m2m_changed, sender=User.user_permissions.through, weak=False)
    def _user_permissions_changed(sender, instance, action, pk_set, **kwargs):
        if action.startswith("post_") or action == "pre_clear":
            if isinstance(instance, User):
                access_forget(instance.pk)
            else:  # permission.user_set.add(...)
                access_forget(*(pk_set or []))
                if action == "pre_clear":
                    access_forget(*instance.user_set.values_list("pk", flat=True))

    @receiver(m2m_changed, sender=Group.permissions.through, weak=False)
    def _group_permissions_changed(sender, instance, action, pk_set, **kwargs):
        if action.startswith("post_") or action == "pre_clear":
            groups = [instance] if isinstance(instance, Group) else list(Group.objects.filter(pk__in=pk_set or []))
            if action == "pre_clear" and not isinstance(instance, Group):
                groups = list(instance.group_set.all())
            access_forget(*_members(groups))

    @receiver(post_save, sender=User, weak=False)
    @receiver(post_delete, sender=User, weak=False)
    def _user_changed(sender, instance, **kwargs):
        # is_superuser may have changed (is_active is read from the row on every request).
        access_forget(instance.pk)

    @receiver(pre_delete, sender=Group, weak=False)
    @receiver(post_save, sender=Group, weak=False)
    def _group_changed(sender, instance, **kwargs):
        access_forget(*_members([instance]))
