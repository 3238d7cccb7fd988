"""The admin obeys the same visibility rule, and never edits evidence."""

import pytest
from django.contrib import admin
from django.urls import reverse

from compliance.models import Channel, InternalDncEntry, Purpose
from compliance.services import outreach_check
from leadcrm.accounts.models import Brokerage, User
from leadcrm.accounts.roles import Role
from leads.models import Lien

from ..leads.factories import LienFactory

pytestmark = pytest.mark.django_db


def change_url(obj):
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def test_every_model_of_ours_has_an_admin():
    from django.apps import apps

    ours = [m for label in ("accounts", "leads", "compliance", "pipeline") for m in apps.get_app_config(label).get_models()]
    # A row's history (django-simple-history) is read through its model's admin.
    ours = [m for m in ours if not hasattr(m, "instance_type")]
    missing = [m.__name__ for m in ours if m not in admin.site._registry]
    assert missing == []


@pytest.mark.parametrize(("who", "status"), [("team_lead", 200), ("broker", 200), ("agent", 302)])
def test_lead_admin_page_for_a_visible_lead(who, status, lead, agent, team_lead, broker, client_as):
    user = {"agent": agent, "team_lead": team_lead, "broker": broker}[who]
    assert client_as(user).get(change_url(lead)).status_code == status  # agents are not staff


def test_team_lead_gets_404_for_another_teams_lead_and_its_rows(other_lead, team_lead, client_as):
    client = client_as(team_lead)
    lien = LienFactory(lead=other_lead)
    for obj in (other_lead, other_lead.contacts.first(), other_lead.contacts.first().phones.first(), lien):
        assert client.get(change_url(obj)).status_code == 404, obj


def test_team_lead_changelist_lists_only_their_teams_leads(lead, other_lead, team_lead, client_as):
    page = client_as(team_lead).get(reverse("admin:leads_lead_changelist")).content.decode()
    assert lead.property.street in page
    assert other_lead.property.street not in page


def test_a_loan_number_typed_in_the_admin_is_stored_masked(lead, broker, client_as):
    lien = LienFactory(lead=lead, loan_number_masked="")
    client = client_as(broker)
    data = {
        "lead": lead.pk, "position": 1, "lien_type": "mortgage", "lender": "Mr. Cooper",
        "loan_number": "0012345678", "balance": "250000", "loan_program": "",
        "monthly_payment": "", "arrears": "", "recording_date": "",
    }
    response = client.post(change_url(lien), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    lien.refresh_from_db()
    assert lien.loan_number_masked == "****5678"
    assert not Lien.objects.filter(loan_number_masked__contains="0012345678").exists()


def test_compliance_checks_are_read_only_in_the_admin(lead, agent, broker, client_as):
    decision = outreach_check(lead=lead, contact_point=lead.contacts.first().phones.first(),
                              channel=Channel.CALL, purpose=Purpose.LISTING, actor=agent, role_disclosed=True)
    client = client_as(broker)
    url = change_url(decision.check)
    assert client.get(url).status_code == 200
    assert client.post(url, {"verdict": "block"}).status_code == 403
    delete_url = reverse("admin:compliance_compliancecheck_delete", args=[decision.check.pk])
    assert client.post(delete_url, {"post": "yes"}).status_code == 403


def test_internal_dnc_entries_can_be_added_in_the_admin_but_not_changed(broker, client_as):
    client = client_as(broker)
    response = client.post(reverse("admin:compliance_internaldncentry_add"), {
        "phone_number": "(918) 555-0177", "email": "", "channel": "call",
        "homeowner_words": "Please stop calling.", "requested_at_0": "2026-11-20", "requested_at_1": "10:00:00",
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    entry = InternalDncEntry.objects.get()
    assert (entry.phone_number, entry.recorded_by) == ("+19185550177", broker)
    assert client.post(change_url(entry), {"homeowner_words": "changed"}).status_code == 403


def test_brokerage_settings_are_one_page(broker, client_as):
    response = client_as(broker).get(reverse("admin:accounts_brokerage_changelist"))
    assert response.status_code == 302
    assert response["Location"] == change_url(Brokerage.objects.current())


def test_setting_a_role_in_the_admin_sets_groups_and_staff(broker, client_as):
    client = client_as(broker)
    response = client.post(reverse("admin:accounts_user_add"), {
        "username": "newlead", "first_name": "New", "last_name": "Lead", "email": "n@example.com",
        "role": Role.TEAM_LEAD, "capacity": "seller_agent", "license_number": "OK-1", "license_state": "OK",
        "license_status": "active", "password1": "a-Long-passw0rd!", "password2": "a-Long-passw0rd!",
        "usable_password": "true",
        "team_membership-TOTAL_FORMS": "0", "team_membership-INITIAL_FORMS": "0",
    })
    assert response.status_code == 302, response.context["adminform"].form.errors
    user = User.objects.get(username="newlead")
    assert (user.role, user.is_staff) == (Role.TEAM_LEAD, True)


def test_admin_refuses_a_team_the_agent_is_not_on(lead, agent, other_team):
    from django.forms.models import model_to_dict

    from leads.admin import LeadAdminForm

    data = {key: value for key, value in model_to_dict(lead).items() if value is not None}
    data.update(team=other_team.pk, assigned_agent=agent.pk)
    form = LeadAdminForm(data, instance=lead)
    assert not form.is_valid()
    assert "is not on the team" in str(form.errors["team"])


def test_a_team_lead_cannot_attach_rows_to_another_teams_lead_by_posting_its_id(
    other_lead, team_lead, lead, client_as
):
    from leads.models import Contact
    from pipeline.models import FollowUp

    client = client_as(team_lead)
    contact = client.post(reverse("admin:leads_contact_add"), {
        "lead": other_lead.pk, "position": 2, "first_name": "Intruder", "last_name": "X",
    })
    follow_up = client.post(reverse("admin:pipeline_followup_add"), {
        "lead": other_lead.pk, "assignee": team_lead.pk, "kind": "call", "title": "x",
        "due_at_0": "2026-12-01", "due_at_1": "10:00:00",
    })
    assert contact.status_code == follow_up.status_code == 200  # the form refuses the choice
    assert "Select a valid choice" in contact.content.decode()
    assert not Contact.objects.filter(first_name="Intruder").exists()
    assert not FollowUp.objects.exists()


def test_a_team_lead_can_assign_only_to_their_own_team(lead, team_lead, other_agent, agent, client_as):
    from leads.admin import scoped_choices

    choices = set(scoped_choices(User, team_lead))
    assert agent in choices and team_lead in choices and other_agent not in choices


def test_team_leads_see_internal_entries_of_their_leads_only(lead, other_lead, agent, other_agent, team_lead,
                                                             broker, client_as):
    from compliance.services import internal_dnc_add

    internal_dnc_add(phone_number="9185550104", channel=Channel.CALL, homeowner_words="mine", recorded_by=agent,
                     lead=lead)
    internal_dnc_add(phone_number="8505550147", channel=Channel.CALL, homeowner_words="theirs",
                     recorded_by=other_agent, lead=other_lead)
    url = reverse("admin:compliance_internaldncentry_changelist")
    page = client_as(team_lead).get(url).content.decode()
    assert "mine" in page and "theirs" not in page
    assert "theirs" in client_as(broker).get(url).content.decode()


def test_only_a_superuser_can_make_a_superuser(agent, broker, client_as):
    page = client_as(broker).get(change_url(agent)).content.decode()
    assert 'name="is_superuser"' not in page


def test_a_property_added_in_the_admin_gets_its_dedupe_key_and_duplicates_are_refused(broker, client_as):
    from leads.models import Property

    client = client_as(broker)
    data = {"street": "12 Oak Lane", "unit": "", "city": "Tulsa", "state": "OK", "zip_code": "74130",
            "property_type": "single_family"}
    assert client.post(reverse("admin:leads_property_add"), data).status_code == 302
    assert Property.objects.get().address_key == "12 OAK LN||74130"
    again = client.post(reverse("admin:leads_property_add"), {**data, "street": "12 oak ln."})
    assert again.status_code == 200
    assert "already a lead" in again.content.decode()
    assert Property.objects.count() == 1


@pytest.mark.parametrize("model", ["pipeline_outreachcount", "pipeline_checkcount", "leads_listdnccount"])
def test_the_reports_figures_are_the_brokers_to_look_at_and_nobodys_to_edit(model, team_lead, broker, client_as):
    changelist = reverse(f"admin:{model}_changelist")
    assert client_as(team_lead).get(changelist).status_code == 403
    assert client_as(broker).get(changelist).status_code == 200
    assert client_as(broker).get(reverse(f"admin:{model}_add")).status_code == 403


# Team leads and the user admin: their own team's records only, another team's user a 404.
# Before: the changelist listed every user and another team's agent's page was a 200.


def test_team_lead_user_changelist_lists_only_their_team_and_themselves(agent, other_agent, team_lead, broker,
                                                                       client_as):
    url = reverse("admin:accounts_user_changelist")
    listed = set(client_as(team_lead).get(url).context["cl"].result_list)
    assert listed == {team_lead, agent}
    assert {agent, other_agent, team_lead, broker} <= set(client_as(broker).get(url).context["cl"].result_list)


def test_another_teams_user_is_a_404_to_a_team_lead_on_every_page_of_the_user_admin(other_agent, team_lead,
                                                                                     broker, client_as):
    client = client_as(team_lead)
    for name in ("accounts_user_change", "accounts_user_history", "accounts_user_delete",
                 "auth_user_password_change"):
        url = reverse(f"admin:{name}", args=[other_agent.pk])
        assert client.get(url).status_code == 404, name
    assert client_as(broker).get(change_url(other_agent)).status_code == 200
    assert client.get(change_url(broker)).status_code == 404


def test_team_lead_reads_their_members_record_and_changes_nothing_of_its_access(agent, team_lead, client_as):
    client = client_as(team_lead)
    page = client.get(change_url(agent))
    assert page.status_code == 200
    assert not {"role", "is_active", "is_superuser", "groups", "user_permissions"} & set(
        page.context["adminform"].form.fields)
    response = client.post(change_url(agent), {"username": agent.username, "role": Role.BROKER,
                                               "is_superuser": "on", "is_active": "on"})
    assert response.status_code == 403
    agent.refresh_from_db()
    assert (agent.role, agent.is_staff, agent.is_superuser) == (Role.AGENT, False, False)


def test_a_team_lead_with_change_permission_still_cannot_set_anyones_access(agent, team_lead, rf):
    """Should a broker ever give team leads ``change_user``, the access fields stay read-only."""
    from leadcrm.accounts.admin import ACCESS_FIELDS, UserAdmin

    request = rf.get("/")
    request.user = team_lead
    user_admin = UserAdmin(User, admin.site)
    assert set(ACCESS_FIELDS) <= set(user_admin.get_readonly_fields(request, agent))
    assert "role" not in user_admin.get_form(request, agent).base_fields


def test_team_lead_sees_only_their_own_teams_in_the_admin(team, other_team, agent, other_agent, team_lead,
                                                          client_as):
    client = client_as(team_lead)
    assert list(client.get(reverse("admin:accounts_team_changelist")).context["cl"].result_list) == [team]
    assert client.get(change_url(other_team)).status_code == 404
    memberships = client.get(reverse("admin:accounts_teammembership_changelist")).context["cl"].result_list
    assert [m.user for m in memberships] == [agent]
