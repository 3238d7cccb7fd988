"""A user's permissions and role are read once and kept between requests, and forgotten the
moment a role, a group, a group's permissions, a permission or the user changes
(leadcrm/accounts/access.py): at once, and again when the change commits, so what another
request cached from the rows before the commit is not kept either."""

import threading

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from leadcrm.accounts.models import User
from leadcrm.accounts.roles import Perm, Role
from leadcrm.accounts.services import user_set_role

pytestmark = pytest.mark.django_db


def fresh(user):
    """The user as the next request loads it: no per-object caches."""
    return User.objects.get(pk=user.pk)


def permission_queries(client, url):
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return [q["sql"] for q in captured if "auth_permission" in q["sql"] or '"auth_group"' in q["sql"]]


def test_the_second_page_reads_no_permission_or_group(agent, client_as):
    client = client_as(agent)
    assert permission_queries(client, reverse("pipeline:dashboard"))  # the first reads them
    assert permission_queries(client, reverse("pipeline:dashboard")) == []
    assert permission_queries(client, reverse("leads:list")) == []


def test_a_new_role_takes_effect_on_the_next_request(agent):
    assert fresh(agent).has_perm(Perm.ASSIGN_LEADS) is False and fresh(agent).role == Role.AGENT
    user_set_role(user=agent, role=Role.TEAM_LEAD)
    assert fresh(agent).has_perm(Perm.ASSIGN_LEADS) is True and fresh(agent).role == Role.TEAM_LEAD


def test_a_permission_taken_from_a_group_is_gone_for_its_members_at_once(agent):
    assert fresh(agent).has_perm(Perm.MANAGE_FOLLOW_UPS)
    app_label, codename = Perm.MANAGE_FOLLOW_UPS.split(".")
    permission = Permission.objects.get(content_type__app_label=app_label, codename=codename)
    Group.objects.get(name=Role.AGENT.label).permissions.remove(permission)
    assert not fresh(agent).has_perm(Perm.MANAGE_FOLLOW_UPS)
    permission.group_set.add(Group.objects.get(name=Role.AGENT.label))  # from the other side
    assert fresh(agent).has_perm(Perm.MANAGE_FOLLOW_UPS)


def test_a_permission_given_to_the_user_and_superuser_status_count_at_once(agent):
    assert not fresh(agent).has_perm("auth.add_group")
    agent.user_permissions.add(Permission.objects.get(codename="add_group"))
    assert fresh(agent).has_perm("auth.add_group")
    agent.user_permissions.clear()
    assert not fresh(agent).has_perm("auth.add_group")
    agent.is_superuser = True
    agent.save()
    assert fresh(agent).has_perm("auth.add_group")


def test_a_deactivated_user_has_no_permission_whatever_is_cached(agent):
    assert fresh(agent).has_perm(Perm.MANAGE_FOLLOW_UPS)
    User.objects.filter(pk=agent.pk).update(is_active=False)  # no signal: read from the row
    assert not fresh(agent).has_perm(Perm.MANAGE_FOLLOW_UPS)


# Superuser and active status -------------------------------------------------------------


def test_revoking_superuser_takes_effect_at_once_even_without_a_signal(agent):
    # given a superuser whose permissions (every one there is) were read on a request
    User.objects.filter(pk=agent.pk).update(is_superuser=True)  # no signal
    assert fresh(agent).has_perm("auth.add_group") and "auth.add_group" in fresh(agent).get_all_permissions()
    # when superuser status is taken away, by save() or by update() alike
    User.objects.filter(pk=agent.pk).update(is_superuser=False)
    # then the next request holds only the agent's own permissions
    assert not fresh(agent).has_perm("auth.add_group")
    assert "auth.add_group" not in fresh(agent).get_all_permissions()
    assert fresh(agent).has_perm(Perm.MANAGE_FOLLOW_UPS) and fresh(agent).role == Role.AGENT

    agent.is_superuser = True
    agent.save()
    assert "auth.add_group" in fresh(agent).get_all_permissions()
    agent.is_superuser = False
    agent.save()
    assert "auth.add_group" not in fresh(agent).get_all_permissions()


def test_a_superuser_sees_a_permission_added_after_their_last_request(agent):
    User.objects.filter(pk=agent.pk).update(is_superuser=True)
    assert "auth.brand_new" not in fresh(agent).get_all_permissions()
    Permission.objects.create(codename="brand_new", name="Brand new",
                              content_type=Permission.objects.get(codename="add_group").content_type)
    assert "auth.brand_new" in fresh(agent).get_all_permissions()  # not read from a cached copy


@pytest.mark.parametrize("by_update", [False, True], ids=["save", "update"])
def test_deactivating_and_reactivating_take_effect_at_once(agent, by_update):
    def set_active(value):
        if by_update:
            User.objects.filter(pk=agent.pk).update(is_active=value)
        else:
            user = fresh(agent)
            user.is_active = value
            user.save(update_fields=["is_active"])

    assert fresh(agent).has_perm(Perm.MANAGE_FOLLOW_UPS)
    set_active(False)
    assert not fresh(agent).has_perm(Perm.MANAGE_FOLLOW_UPS) and not fresh(agent).get_all_permissions()
    # while away, the agent's group loses the permission
    app_label, codename = Perm.MANAGE_FOLLOW_UPS.split(".")
    permission = Permission.objects.get(content_type__app_label=app_label, codename=codename)
    Group.objects.get(name=Role.AGENT.label).permissions.remove(permission)
    set_active(True)
    assert not fresh(agent).has_perm(Perm.MANAGE_FOLLOW_UPS) and fresh(agent).has_perm(Perm.ADD_NOTES)


# Every way a permission or a group can be taken away -----------------------------------------

PERM = Perm.MANAGE_FOLLOW_UPS


def the_permission():
    app_label, codename = PERM.split(".")
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


def agents_group():
    return Group.objects.get(name=Role.AGENT.label)


def direct_grant(user):
    """Give ``user`` PERM themselves, outside any group (and no group at all)."""
    user.groups.clear()
    user.user_permissions.add(the_permission())


CHANGES = {
    # name: (set-up, the change); the agent holds PERM through the Agent group unless set up otherwise
    "group.user_set.remove(user)": (None, lambda user: agents_group().user_set.remove(user)),
    "group.user_set.clear()": (None, lambda user: agents_group().user_set.clear()),
    "user.groups.remove(group)": (None, lambda user: user.groups.remove(agents_group())),
    "user.groups.clear()": (None, lambda user: user.groups.clear()),
    "group.delete()": (None, lambda user: agents_group().delete()),
    "group.permissions.remove(perm)": (None, lambda user: agents_group().permissions.remove(the_permission())),
    "group.permissions.clear()": (None, lambda user: agents_group().permissions.clear()),
    "perm.group_set.remove(group)": (None, lambda user: the_permission().group_set.remove(agents_group())),
    "perm.group_set.clear()": (None, lambda user: the_permission().group_set.clear()),
    "perm.delete() (through a group)": (None, lambda user: the_permission().delete()),
    "perm.delete() (held directly)": (direct_grant, lambda user: the_permission().delete()),
    "user.user_permissions.remove(perm)": (direct_grant, lambda user: user.user_permissions.remove(the_permission())),
    "perm.user_set.remove(user)": (direct_grant, lambda user: the_permission().user_set.remove(user)),
    "perm.user_set.clear()": (direct_grant, lambda user: the_permission().user_set.clear()),
}


@pytest.mark.parametrize("change", CHANGES)
def test_a_permission_taken_away_is_gone_on_the_next_request(agent, change):
    set_up, take_away = CHANGES[change]
    if set_up:
        set_up(agent)
    assert fresh(agent).has_perm(PERM)  # read, and cached
    take_away(fresh(agent))
    assert not fresh(agent).has_perm(PERM)


def test_deleting_a_permission_forgets_its_direct_holders_and_every_member_of_its_groups(agent, team_lead):
    # given the agent holding it through a group and the team lead holding it directly
    other = Group.objects.create(name="Reviewers")
    other.permissions.add(the_permission())
    team_lead.groups.add(other)
    direct_grant(team_lead)
    assert fresh(agent).has_perm(PERM) and fresh(team_lead).has_perm(PERM)
    # when the permission is deleted
    the_permission().delete()
    # then neither holds it on their next request
    assert not fresh(agent).has_perm(PERM) and not fresh(team_lead).has_perm(PERM)


def test_deleting_a_group_takes_the_role_away_at_once(agent):
    assert fresh(agent).role == Role.AGENT
    agents_group().delete()
    assert fresh(agent).role is None


# A request that reads the old rows while the change is being committed ------------------------


@pytest.mark.parametrize("change", CHANGES)
def test_a_request_that_caches_the_old_access_before_the_commit_is_forgotten_after_it(
    agent, change, monkeypatch, django_capture_on_commit_callbacks
):
    from leadcrm.accounts import access

    set_up, take_away = CHANGES[change]
    if set_up:
        set_up(agent)
    before = access.access_of(fresh(agent))
    assert PERM in before.permissions
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            take_away(fresh(agent))
            # another request, on its own connection, still reads the committed rows (before
            # the change) and caches them while this transaction is open
            with monkeypatch.context() as other_connection:
                other_connection.setattr(access, "_read", lambda user: before)
                assert fresh(agent).has_perm(PERM)
    # committed: the access cached meanwhile is forgotten
    assert not fresh(agent).has_perm(PERM)


def test_superuser_status_revoked_while_another_request_reads_it_is_not_kept(
    agent, django_capture_on_commit_callbacks
):
    agent.is_superuser = True
    agent.save()
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            as_it_was = fresh(agent)  # another request's user row, read before the change
            agent.is_superuser = False
            agent.save()
            assert "auth.add_group" in as_it_was.get_all_permissions()
    assert "auth.add_group" not in fresh(agent).get_all_permissions()


@pytest.mark.django_db(transaction=True)
def test_a_request_on_another_connection_during_the_commit_does_not_keep_old_permissions(agent):
    # Real connections: the request runs in a thread, which reads only what is committed.
    def other_request():
        try:
            seen.append(fresh(agent).has_perm(PERM))
        finally:
            connection.close()

    seen = []
    assert fresh(agent).has_perm(PERM)
    with transaction.atomic():
        agents_group().permissions.remove(the_permission())
        thread = threading.Thread(target=other_request)
        thread.start()
        thread.join()
        assert seen == [True]  # the rows before the commit: cached again
    assert not fresh(agent).has_perm(PERM)
