"""Do Not Mail and Deceased on import: honoured, and never cleared by a later list.

Mail to a Do Not Mail owner is blocked (COMPLIANCE_RULES.md B1: a stop takes effect at once
and for good); deceased owners are left out of mail merges and the call queue. Either flag
cleared by a list that merely leaves the cell empty, or says "No", would send mail or
calls the brokerage was told not to send.
"""

import csv
import io

import pytest

from leads.imports.columns import detect
from leads.models import Contact, Lead
from pipeline.models import TemplateKind
from pipeline.outreach.letters import mail_merge

from ...pipeline.factories import MessageTemplateFactory
from .test_imports import run

pytestmark = pytest.mark.django_db

HEADERS = ["Address", "City", "State", "Zip", "Owner 1 First Name", "Owner 1 Last Name", "Mailing Address",
           "Mailing City", "Mailing State", "Mailing Zip", "Do Not Mail", "Deceased Owner"]


def csv_of(*rows):
    out = io.StringIO()
    writer = csv.DictWriter(out, HEADERS)
    writer.writeheader()
    for cells in rows:
        writer.writerow({"Address": "8 Fir Ct", "City": "Tulsa", "State": "OK", "Zip": "74101",
                         "Owner 1 First Name": "Ruth", "Owner 1 Last Name": "Hale", "Mailing Address": "8 Fir Ct",
                         "Mailing City": "Tulsa", "Mailing State": "OK", "Mailing Zip": "74101"} | cells)
    return out.getvalue().encode()


def flags():
    owner = Contact.objects.get()
    return owner.do_not_mail, owner.deceased


def test_propstreams_deceased_owner_and_the_skip_traces_deceased_columns_are_detected():
    assert detect(["Deceased Owner"]) == {"deceased": "Deceased Owner"}
    assert detect(["Deceased"]) == {"deceased": "Deceased"}
    assert detect(["Do Not Mail"]) == {"do_not_mail": "Do Not Mail"}


def test_a_deceased_owner_is_flagged_on_import_and_left_out_of_the_mail_merge(broker, agent):
    run(broker, csv_of({"Deceased Owner": "Yes"}), assign_to=agent)
    assert flags() == (False, True)
    letter = MessageTemplateFactory(kind=TemplateKind.LETTER, owner=agent, body="Dear [First Name],\n\n[Role Disclosure]")
    merge = mail_merge(template=letter, leads=Lead.objects.filter(assigned_agent=agent), agent=agent)
    assert merge.pieces == [] and merge.reasons == {"deceased": 1}


def test_an_owner_not_flagged_is_mailed(broker, agent):
    run(broker, csv_of({"Deceased Owner": "No", "Do Not Mail": ""}), assign_to=agent)
    assert flags() == (False, False)


@pytest.mark.parametrize("later", [{"Do Not Mail": "No", "Deceased Owner": "No"},
                                   {"Do Not Mail": "", "Deceased Owner": ""},
                                   {"Do Not Mail": "n/a", "Deceased Owner": "false"}])
def test_a_later_list_never_clears_do_not_mail_or_deceased(broker, later):
    run(broker, csv_of({"Do Not Mail": "Yes", "Deceased Owner": "Y"}), list_name="first")
    assert flags() == (True, True)
    job = run(broker, csv_of(later), list_name="second")
    assert job.leads_merged == 1
    assert flags() == (True, True)  # B1: a stop once recorded stays


def test_a_later_list_flags_an_owner_held_without_the_flags(broker):
    run(broker, csv_of({}), list_name="first")
    assert flags() == (False, False)
    run(broker, csv_of({"Do Not Mail": "Yes"}), list_name="second")
    assert flags() == (True, False)
    run(broker, csv_of({"Deceased Owner": "Yes"}), list_name="third")
    assert flags() == (True, True)


def test_the_same_house_twice_in_a_file_keeps_the_flag_either_row_gives(broker):
    job = run(broker, csv_of({"Do Not Mail": "Yes", "Deceased Owner": "No"}, {"Do Not Mail": "No",
                                                                             "Deceased Owner": "Yes"}))
    assert (job.leads_created, job.leads_merged) == (1, 1)
    assert flags() == (True, True)
