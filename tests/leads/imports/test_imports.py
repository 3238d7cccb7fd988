"""List import: the shared samples, a messy file, merge and stacking, idempotence, resume,
concurrency, and bad files refused up front (DOMAIN.md section 3)."""

import io
import threading
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.utils import timezone

from compliance.models import LoadKind
from compliance.services import registry_load_create, registry_load_run
from leads.imports import services as import_services
from leads.imports.services import ImportRefused, import_job_create, import_run
from leads.models import (
    Contact,
    ForeclosureRecord,
    ImportJob,
    ImportRowIssue,
    ImportStatus,
    Lead,
    LeadType,
    Lien,
    LienType,
    ListMembership,
    Phone,
    Property,
)
from pipeline.models import FollowUp

pytestmark = pytest.mark.django_db

# Copies of ../shared/samples, so a clean clone tests the same files.
SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "samples"
PROPSTREAM = (SAMPLES / "propstream_export_sample.csv").read_bytes()
HEADER = ("Address,Unit #,City,State,Zip,County,APN,Owner 1 First Name,Owner 1 Last Name,Mailing Address,"
          "Mailing City,Mailing State,Mailing Zip,Do Not Mail,Est. Value,Loan 1 Balance,Loan 1 Type,Loan 1 Lender,"
          "Loan 2 Balance,Loan 2 Type,Loan 2 Lender,Pre-FC Record Type,Pre-FC Recording Date,Pre-FC Auction Date,"
          "Phone1,Phone2,Phone3,Email1")


def run(broker, content, name="list.csv", **kwargs):
    kwargs.setdefault("list_name", name)
    job = import_job_create(content=content, file_name=name, created_by=broker, **kwargs)
    return import_run(job_id=job.pk)


def counts():
    return (Property.objects.count(), Lead.objects.count(), Contact.objects.count(), Phone.objects.count(),
            Lien.objects.count(), ForeclosureRecord.objects.count(), FollowUp.objects.count())


def test_the_propstream_sample_imports_every_row_with_liens_filings_and_dnc_flags(broker, national_registry):
    dnc = (SAMPLES / "dnc_national_sample.txt").read_bytes()
    load = registry_load_create(source=national_registry, kind=LoadKind.FULL, version_date=date(2026, 11, 16),
                                content=dnc, file_name="dnc.txt", loaded_by=None)
    registry_load_run(load_id=load.pk)
    job = run(broker, PROPSTREAM, name="propstream_export_sample.csv", source="propstream")
    assert job.status == ImportStatus.DONE
    assert (job.rows_total, job.rows_done, job.leads_created, job.rows_rejected) == (40, 40, 40, 0)
    assert job.phones_valid == Phone.objects.count() > 40
    # Every phone in both the export and the registry extract is flagged the moment the import ends.
    listed = {f"+1{line.replace(',', '')}" for line in dnc.decode().split()}
    flagged = set(Phone.objects.filter(on_dnc_list=True).values_list("number", flat=True))
    assert flagged == listed & set(Phone.objects.values_list("number", flat=True)) and flagged
    assert job.phones_on_dnc == Phone.objects.filter(on_dnc_list=True).count() >= len(flagged)
    lead = Lead.objects.get(property__street="2571 Pine Rd")
    assert lead.lead_type == LeadType.AUCTION and lead.source_list == job.lead_list
    assert lead.lien_total == Decimal("267076.00")
    filing = lead.foreclosure_records.get()
    assert (filing.record_type, filing.auction_date, filing.default_amount) == ("NOD", date(2027, 1, 20), Decimal("7000"))
    assert lead.follow_ups.get().title.startswith("Auction on Jan 20, 2027")
    heloc = Lien.objects.get(lead__property__street="1633 Elm St", position=2)
    assert (heloc.lien_type, heloc.balance, heloc.lender) == (LienType.HELOC, Decimal("53011.00"), "Mr. Cooper")
    assert Contact.objects.filter(do_not_mail=True).exists()
    assert lead.score > 0 and any("Auction" in reason for reason in lead.score_reasons)


MESSY = (
    "\ufeff" + HEADER + "\r\n"
    # the same house twice: suffix spelled out, lower case, unit written inline
    '"12 Oak Street","","Tulsa","OK","74101","Tulsa","","Ana","Diaz","12 Oak St","Tulsa","OK","74101","",'
    '"$245,000","$180,500.00","Conventional","PennyMac","n/a","","","NOD","05/02/2026","01/20/2027",'
    '"(918) 555-0101","918.555.0102","+1 918 555 0103","ana@example.com"\r\n'
    '"12 oak st","","TULSA","ok","74101","Tulsa","","Ana","Diaz","","","","","",'
    '"245000","180500","Conventional","PennyMac","","","","","","",'
    '"918-555-0104","1 (918) 555 0105","9185550101 ","ANA@example.com"\r\n'
    # no city: read from the ZIP; an unreadable phone kept with its reason; a formula cell
    '"77 Elm Ave","","","","32507","Escambia","","=HYPERLINK(""http://x"")","Lee","","","","","Yes",'
    '"n/a","12,000","HELOC","Bank","","","","","","",'
    '"555-0199","(850) 555-0107","","not-an-email"\r\n'
    # no address at all: rejected with its reason
    '"","","Tulsa","OK","74101","","","No","Street","","","","","","","","","","","","","","","","","","",""\r\n'
).encode("utf-8")


def test_a_messy_file_loses_nothing_and_says_what_it_left_out(broker):
    job = run(broker, MESSY, name="messy.csv")
    assert (job.rows_done, job.leads_created, job.leads_merged, job.rows_rejected) == (4, 2, 1, 1)
    oak = Lead.objects.get(property__street="12 Oak Street")
    numbers = set(Phone.objects.filter(contact__lead=oak).values_list("number", flat=True))
    assert numbers == {"+19185550101", "+19185550102", "+19185550103", "+19185550104", "+19185550105"}
    assert oak.lien_total == Decimal("180500.00") and oak.property.estimated_value == Decimal("245000.00")
    assert oak.contacts.get().emails.get().address == "ana@example.com"
    elm = Lead.objects.get(property__street="77 Elm Ave")
    assert (elm.property.city, elm.property.state) == ("Pensacola", "FL")
    owner = elm.contacts.get()
    assert owner.do_not_mail and owner.first_name.startswith("=HYPERLINK")  # kept as written; escaped on output
    assert owner.rejected_phones == [{"raw": "555-0199", "reason": "'555-0199' has no area code."}]
    reasons = dict(ImportRowIssue.objects.filter(job=job).values_list("reason", "rejected"))
    assert reasons["No street address."] is True
    assert reasons["The same house as line 2: merged into it."] is False
    assert any("555-0199" in reason for reason in reasons)
    assert any("not-an-email" in reason for reason in reasons)


def test_windows_1252_files_are_read(broker):
    content = (HEADER + "\n" + '"9 José Way","","Tulsa","OK","74101","","","José","Núñez"' + ",," * 10 + "\n").encode("cp1252")
    run(broker, content)
    assert Contact.objects.get().last_name == "Núñez"


def test_an_xlsx_list_is_read_like_a_csv(broker):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["Address", "City", "State", "Zip", "Phone1", "Loan 1 Balance", "Pre-FC Auction Date"])
    sheet.append(["5 Birch Ln", "Tulsa", "OK", 74101, "918 555 0110", 150000, date(2027, 2, 1)])
    buffer = io.BytesIO()
    book.save(buffer)
    job = run(broker, buffer.getvalue(), name="list.xlsx")
    assert job.leads_created == 1
    lead = Lead.objects.get()
    assert (lead.lien_total, lead.foreclosure_records.get().auction_date) == (Decimal("150000.00"), date(2027, 2, 1))


def test_importing_the_same_file_twice_changes_nothing(broker):
    run(broker, PROPSTREAM, name="a.csv")
    before = counts()
    again = run(broker, PROPSTREAM, name="b.csv", lead_list=ImportJob_list())
    assert counts() == before
    assert (again.leads_created, again.leads_merged) == (0, 40)


def ImportJob_list():
    from leads.models import LeadList

    return LeadList.objects.get(name="a.csv")


def test_a_house_on_a_second_list_is_merged_and_stacked(broker):
    first = run(broker, PROPSTREAM, name="NOD pull.csv")
    lead = Lead.objects.get(property__street="6967 Maple Dr")
    score_before = lead.score
    second_list = (HEADER + "\n" + '"6967 Maple Drive","","Pensacola","FL","32507","Escambia","","Robert","Garcia"'
                   + ",,,,,,,,,,,,,,,," + '"(850) 555-0190","","",""' + "\n").encode()
    second = run(broker, second_list, name="Absentee.csv")
    assert (second.leads_created, second.leads_merged) == (0, 1)
    lead.refresh_from_db()
    assert set(lead.lists.values_list("name", flat=True)) == {first.lead_list.name, "Absentee.csv"}
    assert lead.score > score_before and any("2 lists" in reason for reason in lead.score_reasons)
    assert "+18505550190" in set(Phone.objects.filter(contact__lead=lead).values_list("number", flat=True))


def test_the_same_parcel_written_differently_merges_by_apn_and_county(broker):
    base = HEADER + "\n"
    run(broker, (base + '"100 Main St","","Tulsa","OK","74101","Tulsa","APN-1"' + ",," * 10 + "\n").encode())
    job = run(broker, (base + '"100 Main Street Rear","","Tulsa","OK","74103","TULSA","apn-1"' + ",," * 10 + "\n").encode(),
              name="b.csv")
    assert (job.leads_created, job.leads_merged, Lead.objects.count()) == (0, 1, 1)


def test_a_file_that_is_not_a_table_is_refused_before_anything_is_stored(broker):
    with pytest.raises(ImportRefused) as refused:
        import_job_create(content=b"%PDF-1.7 binary\x00stuff", file_name="list.pdf", created_by=broker,
                          list_name="x")
    assert "list.pdf is not a table" in refused.value.messages[0]
    assert not any(Path(settings.MEDIA_ROOT).rglob("*.bin"))


def test_a_file_without_the_columns_to_place_a_house_is_refused_naming_them(broker):
    with pytest.raises(ImportRefused) as refused:
        import_job_create(content=b"Name,Phone\nAna,918 555 0101\n", file_name="names.csv", created_by=broker,
                          list_name="x")
    assert "street address (Address)" in refused.value.messages[0]
    assert "the ZIP, or the city and state" in refused.value.messages[0]


def test_a_worker_killed_mid_file_resumes_without_doubling_rows(broker, monkeypatch):
    job = import_job_create(content=PROPSTREAM, file_name="p.csv", created_by=broker, list_name="p")
    real, calls = import_services.write_batch, []

    def dies_on_the_third_batch(job, records):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt("worker killed")
        return real(job, records)

    monkeypatch.setattr(import_services, "write_batch", dies_on_the_third_batch)
    with pytest.raises(KeyboardInterrupt):
        import_run(job_id=job.pk, batch_rows=10)
    job.refresh_from_db()
    assert (job.status, job.rows_done, Lead.objects.count()) == (ImportStatus.RUNNING, 20, 20)
    monkeypatch.setattr(import_services, "write_batch", real)
    # Redelivered at once, its heartbeat still fresh: a live worker may be running it, so it stands aside.
    assert import_run(job_id=job.pk, batch_rows=10).status == ImportStatus.RUNNING
    assert ImportJob.objects.get(pk=job.pk).rows_done == 20
    with time_machine.travel(timezone.now() + timedelta(minutes=2), tick=False):  # silent a minute: the worker died
        job = import_run(job_id=job.pk, batch_rows=10)
    assert (job.status, job.rows_done, job.leads_created, Lead.objects.count()) == (ImportStatus.DONE, 40, 40, 40)
    assert import_run(job_id=job.pk).rows_done == 40  # a duplicate delivery does nothing


def test_a_cancelled_import_stops_between_batches_and_keeps_whole_rows(broker, monkeypatch):
    job = import_job_create(content=PROPSTREAM, file_name="p.csv", created_by=broker, list_name="p")
    real = import_services.write_batch

    def cancel_after_first(job_row, records):
        result = real(job_row, records)
        from leads.models import ImportJob

        ImportJob.objects.filter(pk=job_row.pk).update(cancel_requested=True)
        return result

    monkeypatch.setattr(import_services, "write_batch", cancel_after_first)
    job = import_run(job_id=job.pk, batch_rows=10)
    assert (job.status, job.rows_done, Lead.objects.count()) == (ImportStatus.CANCELLED, 10, 10)


def test_round_robin_gives_new_leads_to_a_teams_agents_by_capacity(broker, team, agent):
    from leadcrm.accounts.services import team_member_set

    from ...leadcrm.factories import AgentFactory

    second = AgentFactory()
    team_member_set(team=team, user=second, capacity_weight=3)
    run(broker, PROPSTREAM, round_robin_team=team)
    share = dict(Lead.objects.values_list("assigned_agent").annotate(n=__import__("django").db.models.Count("pk")))
    assert share == {agent.pk: 10, second.pk: 30}
    assert set(Lead.objects.values_list("team", flat=True)) == {team.pk}


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="advisory locks are PostgreSQL's")
def test_two_overlapping_imports_at_once_create_no_duplicates(broker):
    half = b"\n".join(PROPSTREAM.splitlines()[:31]) + b"\n"  # rows 1-30
    other = b"\n".join(PROPSTREAM.splitlines()[:1] + PROPSTREAM.splitlines()[11:]) + b"\n"  # rows 11-40
    jobs = [import_job_create(content=c, file_name=f"{n}.csv", created_by=broker, list_name=n)
            for n, c in (("one", half), ("two", other))]
    start = threading.Barrier(2)
    errors = []

    def go(job):
        try:
            start.wait()
            import_run(job_id=job.pk, batch_rows=7)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=go, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert Property.objects.count() == Lead.objects.count() == 40
    assert ListMembership.objects.count() == 60


def test_the_import_leads_command_prints_the_summary(broker, tmp_path, capsys):
    from django.core.management import CommandError, call_command

    path = tmp_path / "propstream.csv"
    path.write_bytes(PROPSTREAM)
    call_command("import_leads", str(path), "--source", "propstream", "--as", broker.username, "--list", "NOD")
    out = capsys.readouterr().out
    assert "rows read                             40" in out and "leads created                         40" in out
    bad = tmp_path / "names.csv"
    bad.write_bytes(b"Name,Phone\nAna,918 555 0101\n")
    with pytest.raises(CommandError, match="Refused: The file has no column for the street address"):
        call_command("import_leads", str(bad), "--as", broker.username)


def test_a_row_naming_no_owner_is_kept_for_the_current_owner(broker):
    cells = dict.fromkeys(HEADER.split(","), "") | {"Address": "3 Ash Ct", "City": "Tulsa", "State": "OK",
                                                    "Zip": "74101", "Phone1": "918 555 0120"}
    run(broker, (HEADER + "\n" + ",".join(f'"{v}"' for v in cells.values()) + "\n").encode())
    owner = Contact.objects.get()
    assert owner.company_name == "Current Owner" and owner.phones.get().number == "+19185550120"


# Found in review: odd input never crashes an import, and never doubles a house ----------------


def row(**cells):
    values = dict.fromkeys(HEADER.split(","), "") | {"Address": "8 Fir Ct", "City": "Tulsa", "State": "OK",
                                                     "Zip": "74101"} | cells
    return ",".join(f'"{v}"' for v in values.values())


def test_a_header_only_file_is_refused_up_front(broker):
    with pytest.raises(ImportRefused, match="has a header but no rows"):
        import_job_create(content=(HEADER + "\n").encode(), file_name="empty.csv", created_by=broker, list_name="x")


def test_cells_out_of_any_range_are_left_out_with_a_note_not_a_crash(broker):
    job = run(broker, (b"Address,City,State,Zip,Bedrooms,Total Bathrooms,Building Sqft,Est. Value\n"
                       b'8 Fir Ct,Tulsa,OK,74101,50000,NaN%,1e9999999,inf\n'))
    assert job.status == ImportStatus.DONE and job.leads_created == 1
    prop = Property.objects.get()
    assert (prop.bedrooms, prop.bathrooms, prop.building_sqft, prop.estimated_value) == (None, None, None, None)
    assert ImportRowIssue.objects.filter(job=job, rejected=False).count() >= 3


def test_a_job_that_hits_an_error_is_marked_failed_with_the_reason(broker, monkeypatch):
    job = import_job_create(content=PROPSTREAM, file_name="p.csv", created_by=broker, list_name="p")

    def broken(job, records):
        raise RuntimeError("disk full")

    monkeypatch.setattr(import_services, "write_batch", broken)
    with pytest.raises(RuntimeError):
        import_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED and "disk full" in job.error


def test_the_same_list_name_uploaded_again_is_the_same_list_not_a_stack(broker):
    run(broker, PROPSTREAM, name="p.csv", list_name="NOD pull")
    run(broker, PROPSTREAM, name="p.csv", list_name="nod pull ")
    assert ListMembership.objects.count() == 40
    assert not any("2 lists" in reason for reason in Lead.objects.first().score_reasons)


def test_a_filing_without_a_recording_date_is_not_doubled_on_reimport(broker):
    content = (HEADER + "\n" + row(**{"Pre-FC Auction Date": "02/01/2027"}) + "\n").encode()
    run(broker, content, list_name="a")
    run(broker, content, list_name="b")
    assert ForeclosureRecord.objects.count() == 1 and FollowUp.objects.count() == 1


def test_two_rows_of_one_parcel_in_a_batch_are_one_lead(broker):
    content = (HEADER + "\n" + row(APN="77-1", County="Tulsa") + "\n"
               + row(Address="8 Fir Court Rear", Zip="74103", APN="77-1", County="TULSA") + "\n").encode()
    job = run(broker, content)
    assert (job.leads_created, job.leads_merged, Lead.objects.count()) == (1, 1, 1)


def test_bytes_windows_1252_leaves_undefined_are_read_as_latin_1(broker):
    content = (HEADER + "\n").encode() + row(**{"Owner 1 Last Name": "X"}).encode().replace(b'"X"', b'"\x81X"') + b"\n"
    job = run(broker, content)
    assert job.leads_created == 1


def test_zips_and_phones_saved_as_floats_are_read_as_digits(broker):
    job = run(broker, (HEADER + "\n" + row(Zip="2134.0", City="Boston", State="MA", Phone1="9185550104.0") + "\n").encode())
    prop = Property.objects.get()
    assert prop.zip_code == "02134" and Phone.objects.get().number == "+19185550104"
    assert job.rows_rejected == 0


def test_a_merged_lead_takes_the_more_urgent_type_of_a_new_list(broker):
    run(broker, (HEADER + "\n" + row() + "\n").encode(), list_name="absentee")
    assert Lead.objects.get().lead_type == LeadType.LIST
    run(broker, (HEADER + "\n" + row(**{"Pre-FC Auction Date": "02/01/2027"}) + "\n").encode(), list_name="auctions")
    lead = Lead.objects.get()
    assert lead.lead_type == LeadType.AUCTION and any("Auction" in r for r in lead.score_reasons)


def test_an_auction_on_an_unassigned_lead_goes_to_someone_who_can_see_it(agent, team, team_lead):
    from leads.services import lead_create, property_create

    prop = property_create(street="8 Fir Ct", city="Tulsa", state="OK", zip_code="74101")
    Lead.objects.filter(pk=lead_create(property=prop, lead_type=LeadType.LIST).pk).update(team=team)  # unassigned
    run(agent, (HEADER + "\n" + row(**{"Pre-FC Auction Date": "02/01/2027"}) + "\n").encode(), list_name="x",
        assign_to=agent)
    assert FollowUp.objects.get().assignee == team_lead


def test_dnc_counts_cover_only_the_importers_own_leads(agent, other_agent, national_registry):
    from compliance.services import dnc_numbers_add

    dnc_numbers_add(source=national_registry, numbers=["9185550104"], as_of=date(2026, 11, 16))
    run(other_agent, (HEADER + "\n" + row(Phone1="918 555 0104") + "\n").encode(), list_name="theirs",
        assign_to=other_agent)
    mine = run(agent, (HEADER + "\n" + row(Phone1="918 555 0104") + "\n").encode(), list_name="mine",
               assign_to=agent)
    assert (mine.leads_merged, mine.phones_on_dnc) == (1, 0)  # merged into a colleague's lead, not counted


def test_an_unreadable_phone_on_a_merged_house_is_kept_on_its_owner(broker):
    run(broker, (HEADER + "\n" + row(**{"Owner 1 Last Name": "Diaz"}) + "\n").encode(), list_name="a")
    again = row(**{"Owner 1 Last Name": "Diaz", "Phone1": "555-0199"})
    run(broker, (HEADER + "\n" + again + "\n").encode(), list_name="b")
    run(broker, (HEADER + "\n" + again + "\n").encode(), list_name="b")  # and not twice
    assert Contact.objects.get().rejected_phones == [{"raw": "555-0199", "reason": "'555-0199' has no area code."}]


def test_a_file_whose_every_row_is_rejected_finishes_with_every_reason(broker):
    job = run(broker, (HEADER + "\n" + row(Address="") + "\n" + row(Address="", Zip="74103") + "\n").encode())
    assert (job.status, job.rows_rejected, job.leads_created) == (ImportStatus.DONE, 2, 0)
    assert ImportRowIssue.objects.filter(job=job, rejected=True).count() == 2


# Speed work: what the faster writer must keep exactly -------------------------------------


def test_new_leads_are_written_with_the_score_a_rescore_would_give(broker):
    from leads.services import leads_rescore

    run(broker, PROPSTREAM, name="p.csv")
    assert leads_rescore(lead_ids=Lead.objects.values_list("pk", flat=True)) == 0
    auction = Lead.objects.get(property__street="2571 Pine Rd")
    assert auction.next_follow_up_at == auction.follow_ups.get().due_at


def test_an_imported_auction_follow_up_is_reminded_at_once(broker):
    from pipeline.models import FollowUpSource
    from pipeline.reminders.notifications import due_work

    run(broker, PROPSTREAM, name="p.csv")
    follow_up = Lead.objects.get(property__street="2571 Pine Rd").follow_ups.get()
    # Imported mid-afternoon on a Wednesday: the broker (Chicago, 9-18) is told at once.
    assert follow_up.source == FollowUpSource.IMPORT and follow_up.notify_at - follow_up.due_at < timedelta(minutes=1)
    assert follow_up.pk in [pk for batch in due_work(follow_up.notify_at).reminder_batches for pk in batch]


def test_a_failure_in_the_reading_process_fails_the_job_and_keeps_the_whole_batches(broker, monkeypatch):
    from leads.imports import ahead

    real = ahead.read_record

    def breaks_on_line_25(line, row, columns):
        if line == 25:
            raise ValueError("unreadable row 25")
        return real(line, row, columns)

    monkeypatch.setattr(ahead, "read_record", breaks_on_line_25)  # the forked reader inherits it
    job = import_job_create(content=PROPSTREAM, file_name="p.csv", created_by=broker, list_name="p")
    with pytest.raises(ValueError, match="unreadable row 25"):
        import_run(job_id=job.pk, batch_rows=10)
    job.refresh_from_db()
    assert (job.status, job.rows_done, Lead.objects.count()) == (ImportStatus.FAILED, 20, 20)
    assert "unreadable row 25" in job.error


def test_imported_leads_given_to_an_agent_carry_it_in_their_routing_history(broker, agent):
    from leads.models import LeadAssignment, RoutingMethod

    job = run(broker, PROPSTREAM, name="p.csv", assign_to=agent)
    entries = LeadAssignment.objects.filter(lead__source_list=job.lead_list)
    assert entries.count() == Lead.objects.filter(source_list=job.lead_list).count() > 0
    entry = entries.first()
    assert (entry.method, entry.to_agent, entry.actor) == (RoutingMethod.IMPORT, agent, broker)
    assert entry.reason == "Imported from p.csv (to the agent picked)"


def test_an_import_sets_the_heap_aside_from_the_collector_only_while_it_runs(broker, monkeypatch):
    """The worker's objects are frozen for the import's batches (``_collector_off_the_heap``)
    and thawed after it, also when it fails: a worker runs many tasks."""
    import gc

    frozen_during = []
    real = import_services.write_batch

    def watching(job, records):
        frozen_during.append(gc.get_freeze_count())
        return real(job, records)

    monkeypatch.setattr(import_services, "write_batch", watching)
    assert gc.get_freeze_count() == 0
    run(broker, PROPSTREAM)
    assert frozen_during and all(frozen_during) and gc.get_freeze_count() == 0

    def failing(job, records):
        raise RuntimeError("disk full")

    monkeypatch.setattr(import_services, "write_batch", failing)
    job = import_job_create(content=PROPSTREAM, file_name="c.csv", created_by=broker, list_name="c")
    with pytest.raises(RuntimeError):
        import_run(job_id=job.pk)
    assert gc.get_freeze_count() == 0
