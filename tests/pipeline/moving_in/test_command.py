"""``manage.py import_crm``: exit codes and what it prints."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from leads.models import Lead, LeadSource
from pipeline.models import CrmValueMapping

from .conftest import SAMPLES

pytestmark = pytest.mark.django_db


def test_unmapped_values_are_printed_and_exit_two(crm_world, capsys):
    with pytest.raises(CommandError) as stopped:
        call_command("import_crm", "--from", "followupboss", str(SAMPLES / "followupboss" / "people.csv"),
                     "--as", crm_world["broker"].username)

    assert stopped.value.returncode == 2
    err = capsys.readouterr().err
    assert "stage “Hot Prospect”" in err and "agent “Jo Smith”" in err
    assert "opt-out? “DNC”: add --stop-tag \"DNC\"" in err and "--not-stop-tag \"DNC\"" in err
    assert not Lead.objects.filter(source=LeadSource.FOLLOW_UP_BOSS).exists()


def test_mappings_on_the_command_line_import(crm_world, capsys):
    call_command("import_crm", "--from", "followupboss", str(SAMPLES / "followupboss" / "people.csv"),
                 "--as", crm_world["broker"].username, "--stage", "Hot Prospect=qualify",
                 "--agent", f"Jo Smith={crm_world['agent'].username}", "--stop-tag", "DNC")

    out = capsys.readouterr().out
    assert "Imported 10 people from Follow Up Boss: 7 new leads, 1 joined a lead already here" in out
    assert "people line 9: Not imported: No address" in out
    assert "1 people marked as opt-outs put on the internal do-not-contact list" in out
    assert Lead.objects.filter(source=LeadSource.FOLLOW_UP_BOSS).count() == 7
    assert CrmValueMapping.objects.get(kind="stop", value="DNC").is_stop is True


def test_refusals_exit_one(crm_world):
    with pytest.raises(CommandError, match="looks like a Podio export") as refused:
        call_command("import_crm", "--from", "followupboss", str(SAMPLES / "podio" / "leads.csv"),
                     "--as", crm_world["broker"].username)
    assert refused.value.returncode == 1
    with pytest.raises(CommandError, match="not an active broker"):
        call_command("import_crm", "--from", "podio", str(SAMPLES / "podio" / "leads.csv"),
                     "--as", crm_world["agent"].username)
    with pytest.raises(CommandError, match="the stage must be one of"):
        call_command("import_crm", "--from", "podio", str(SAMPLES / "podio" / "leads.csv"),
                     "--as", crm_world["broker"].username, "--stage", "New Lead=hot")
