"""A user's permissions and role are read once and kept between requests, and forgotten the
moment a role, a group's permissions or the user changes (leadcrm/accounts/access.py)."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
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
