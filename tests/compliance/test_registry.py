"""Loading registry files (A1, A2, A3, A5): layouts, all-or-nothing, versions, flags on phones."""

import io
import zipfile
from datetime import date, timedelta

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from compliance import registry, tasks
from compliance.models import AreaCodeVersion, DncNumber, LoadKind, LoadStatus, RegistryKind, RegistryLoad
from compliance.registry import RegistryFileRejected, parse_registry, read_registry_bytes
from compliance.services import (
    dnc_source_for,
    phones_reflag,
    registry_load_create,
    registry_load_run,
    registry_loads_resume_stalled,
)

from ..leads.factories import PhoneFactory
from .factories import DncSourceFactory

pytestmark = pytest.mark.django_db

SAMPLE = b"602,5550101\n602,5550105\r\n9185550104\n\n"


def load(source, content, kind=LoadKind.FULL, version=date(2026, 11, 17), **kwargs):
    created = registry_load_create(source=source, kind=kind, version_date=version, content=content,
                                   file_name="file.txt", loaded_by=None, **kwargs)
    return registry_load_run(load_id=created.pk)


def held(source):
    return sorted(number.number for number in source.numbers.all())


def test_both_ftc_layouts_crlf_and_blank_lines_parse():
    for line_by_line in (False, True):
        parsed = parse_registry(SAMPLE, kind=LoadKind.FULL, line_by_line=line_by_line)
        assert sorted(parsed.add_numbers) == [6025550101, 6025550105, 9185550104]
        assert parsed.area_codes == ["602", "918"]


def test_a_zipped_download_is_read():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("602.txt", SAMPLE)
    assert read_registry_bytes(buffer.getvalue()) == SAMPLE


@pytest.mark.parametrize(("content", "says"), [
    (b"602,5550101\nhello\n", "line 2: 'hello' is not a phone number"),
    (b"602,555010\n", "line 1"),
    (b"102,5550101\n", "line 1: '102,5550101' is not a valid US number"),
    (b"602,1550101\n", "not a valid US number"),
    (b"<?xml version='1.0'?><list/>", "XML layout"),
    (b"\n\n", "no numbers"),
])
def test_a_file_that_cannot_be_fully_parsed_is_rejected_with_line_numbers(content, says):
    with pytest.raises(RegistryFileRejected) as rejected:
        parse_registry(content, kind=LoadKind.FULL, line_by_line=True)
    assert says in " ".join(rejected.value.errors)


@pytest.mark.parametrize("content", [b"602,5550101\n102,5550101\n", b"6025550101\n6021550101\n"])
def test_a_number_that_cannot_exist_rejects_the_whole_load_with_its_line(national_registry, content):
    done = load(national_registry, content)
    assert done.status == LoadStatus.REJECTED and "line 2" in done.errors[0]
    assert not national_registry.numbers.exists()


def test_change_list_layouts_with_flags_and_dates():
    parsed = parse_registry(b"602,5550101,A,20261101\n6025550102,D\n602,5550103,delete\n", kind=LoadKind.CHANGE)
    assert list(parsed.adds) == [6025550101] and sorted(parsed.deletes) == [6025550102, 6025550103]
    with pytest.raises(RegistryFileRejected, match="flag"):
        parse_registry(b"602,5550101,X\n", kind=LoadKind.CHANGE)


def test_a_full_list_replaces_only_its_area_codes_and_records_their_version(national_registry):
    load(national_registry, b"602,5550101\n918,5550104\n", version=date(2026, 11, 14))
    done = load(national_registry, b"602,5550199\n", version=date(2026, 11, 17))
    assert done.status == LoadStatus.DONE and done.area_codes == ["602"]
    assert held(national_registry) == [6025550199, 9185550104]
    versions = AreaCodeVersion.objects.filter(source=national_registry, area_code="602", load__isnull=False)
    assert sorted(v.version_date for v in versions) == [date(2026, 11, 14), date(2026, 11, 17)]


def test_a_rejected_file_changes_nothing(national_registry):
    load(national_registry, b"602,5550101\n", version=date(2026, 11, 14))
    before = AreaCodeVersion.objects.count()
    rejected = load(national_registry, b"602,5550199\nnot-a-number\n", version=date(2026, 11, 17))
    assert rejected.status == LoadStatus.REJECTED and rejected.errors
    assert held(national_registry) == [6025550101]
    assert AreaCodeVersion.objects.count() == before


def test_a5_only_a_change_list_delete_clears_a_number(national_registry):
    load(national_registry, b"602,5550101\n602,5550102\n", version=date(2026, 11, 14))
    changed = load(national_registry, b"602,5550102,D\n602,5550103,A\n", kind=LoadKind.CHANGE,
                   version=date(2026, 11, 16))
    assert (changed.numbers_added, changed.numbers_removed) == (1, 1)
    assert held(national_registry) == [6025550101, 6025550103]
    # The change list refreshes the area codes of the subscription.
    assert AreaCodeVersion.objects.filter(area_code="602", version_date=date(2026, 11, 16)).exists()


def test_other_sources_are_untouched(national_registry):
    state = DncSourceFactory(kind=RegistryKind.STATE, state="FL", name="Florida list")
    load(state, b"602,5550101\n")
    load(national_registry, b"602,5550199\n")
    assert held(state) == [6025550101]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the index rebuild path is PostgreSQL's")
def test_a_large_full_list_rebuilds_the_index_and_keeps_numbers_unique(national_registry, monkeypatch):
    monkeypatch.setattr(registry, "REBUILD_MIN_ROWS", 2)
    state = DncSourceFactory(kind=RegistryKind.STATE, state="FL", name="Florida list")
    load(state, b"602,5550101\n")
    load(national_registry, b"918,5550104\n602,5559999\n")
    content = b"".join(f"602555{n:04d}\n".encode() for n in range(1000, 1500)) + b"6025551000\n"  # one duplicate
    done = load(national_registry, content)
    assert (done.numbers_added, done.numbers_removed) == (500, 1)
    assert held(national_registry) == [6025550000 + n for n in range(1000, 1500)] + [9185550104]
    assert held(state) == [6025550101]  # other sources and other area codes are put back
    with pytest.raises(IntegrityError), transaction.atomic():
        DncNumber.objects.create(id=DncNumber.key(6025551000, national_registry.pk), source=national_registry)


def test_a_load_claimed_by_one_worker_is_not_run_again(national_registry):
    created = registry_load_create(source=national_registry, kind=LoadKind.FULL, version_date=date(2026, 11, 14),
                                   content=b"602,5550101\n", file_name="x.txt", loaded_by=None)
    assert registry_load_run(load_id=created.pk).status == LoadStatus.DONE
    assert registry_load_run(load_id=created.pk) is None  # a duplicate delivery does nothing


def reflag_after(done):
    phones_reflag(area_codes=done.area_codes)
    return done


def test_phones_are_flagged_after_a_load(lead, national_registry):
    phone = lead.contacts.first().phones.first()
    clean = PhoneFactory(contact=lead.contacts.first(), number="+19185550177")
    reflag_after(load(national_registry, b"918,5550104\n"))
    phone.refresh_from_db()
    clean.refresh_from_db()
    assert (phone.on_dnc_list, clean.on_dnc_list) == (True, False)
    reflag_after(load(national_registry, b"918,5550177\n"))  # the new full list for 918 no longer has 0104
    phone.refresh_from_db()
    clean.refresh_from_db()
    assert (phone.on_dnc_list, clean.on_dnc_list) == (False, True)
    assert phones_reflag() == 0  # already right: nothing to change


def test_load_dnc_command_loads_and_reports(tmp_path, capsys, db):
    path = tmp_path / "602.txt"
    path.write_bytes(SAMPLE)
    call_command("load_dnc", str(path), "--source", "national", "--as-of", "2026-11-17", "--san", "SAN-77",
                 "--san-expires", "2027-06-30")
    out = capsys.readouterr().out
    assert "version 2026-11-17, 2 area code(s), 3 added" in out
    source = dnc_source_for(kind="national")
    assert (source.subscription_account_number, source.subscription_expires_on) == ("SAN-77", date(2027, 6, 30))


def test_load_dnc_command_refuses_a_broken_file_and_says_where(tmp_path, db):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"602,5550101\n602-555\n")
    with pytest.raises(CommandError, match="line 2"):
        call_command("load_dnc", str(path), "--source", "national", "--as-of", "2026-11-17")
    assert not DncNumber.objects.exists()


def test_a_registry_file_cannot_be_dated_in_the_future(national_registry):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="future"):
        registry_load_create(source=national_registry, kind=LoadKind.FULL, version_date=date(2030, 1, 1),
                             content=b"602,5550101\n", file_name="x.txt", loaded_by=None)


def test_a_full_list_older_than_the_data_held_is_refused():
    source = DncSourceFactory()
    load(source, b"602,5550101\n", version=date(2026, 11, 16))
    older = load(source, b"602,5550199\n", version=date(2026, 11, 14))
    assert older.status == LoadStatus.REJECTED
    assert "version 2026-11-16 is already held" in older.errors[0]
    assert held(source) == [6025550101]
    again = load(source, b"602,5550101\n602,5550102\n", version=date(2026, 11, 16))  # the same version again
    assert again.status == LoadStatus.DONE and held(source) == [6025550101, 6025550102]


def test_a_change_list_needs_a_full_list_under_it_and_cannot_be_older():
    source = DncSourceFactory()
    load(source, b"602,5550101\n", version=date(2026, 11, 14))
    no_base = load(source, b"918,5550104,A\n", kind=LoadKind.CHANGE, version=date(2026, 11, 16),
                   area_codes=["918"])
    assert no_base.status == LoadStatus.REJECTED and "918: no full list" in no_base.errors[0]
    stray = load(source, b"602,5550102,A\n918,5550104,A\n", kind=LoadKind.CHANGE, version=date(2026, 11, 16))
    assert stray.status == LoadStatus.REJECTED and "918: no full list" in stray.errors[0]
    older = load(source, b"602,5550102,A\n", kind=LoadKind.CHANGE, version=date(2026, 11, 13))
    assert older.status == LoadStatus.REJECTED and "would make the data older" in older.errors[0]
    assert held(source) == [6025550101]
    assert sorted(AreaCodeVersion.objects.filter(source=source).values_list("area_code", flat=True)) == ["602"]
    good = load(source, b"602,5550102,A\n", kind=LoadKind.CHANGE, version=date(2026, 11, 16))
    assert good.status == LoadStatus.DONE and held(source) == [6025550101, 6025550102]
    assert load(source, b"602,5550101\n", version=date(2026, 11, 15)).status == LoadStatus.REJECTED


def test_a_change_list_that_deletes_then_re_adds_a_number_keeps_it_and_vice_versa():
    parsed = parse_registry(b"602,5550101,D\n602,5550102,A\n602,5550101,A\n602,5550102,D\n", kind=LoadKind.CHANGE)
    assert (list(parsed.add_numbers), list(parsed.deletes)) == ([6025550101], [6025550102])


def test_a_zip_that_unpacks_past_the_limit_is_refused_not_unpacked():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("918.txt", b"9185550104\n" * 200_000)  # 2.2 MB of text, a few KB zipped
    with pytest.raises(RegistryFileRejected) as refused:
        read_registry_bytes(buffer.getvalue(), limit=1_000_000)
    assert refused.value.errors == [
        "This zip unpacks to 2 MB, more than the 1 MB a registry file may hold. "
        "Upload the files of fewer area codes at once."]
    assert read_registry_bytes(buffer.getvalue(), limit=3_000_000).count(b"\n") == 200_000


LOAD_GAVE_UP = ("Stopped after 3 tries: the worker stopped each time while reading this file. "
                "Split the file or contact support.")


def test_a_load_whose_worker_stops_every_time_is_rejected_after_three_tries(national_registry, client_as, broker):
    """A file that gets the worker killed (for memory, say) is not resumed every minute forever."""
    created = registry_load_create(source=national_registry, kind=LoadKind.FULL, version_date=date(2026, 11, 14),
                                   content=b"602,5550101\n", file_name="x.txt", loaded_by=None)
    now = timezone.now()
    for attempt in range(1, 4):
        with time_machine.travel(now, tick=False):
            # the claim a worker makes, then dies reading (as run, minus the reading)
            RegistryLoad.objects.filter(pk=created.pk).update(status=LoadStatus.QUEUED)
            with transaction.atomic():
                claimed = RegistryLoad.objects.select_for_update().get(pk=created.pk)
                claimed.status, claimed.heartbeat_at, claimed.attempts = LoadStatus.READING, now, attempt
                claimed.save()
        now += timedelta(minutes=2)
        with time_machine.travel(now, tick=False):
            assert registry_loads_resume_stalled() == ([created.pk] if attempt < 3 else [])
    rejected = RegistryLoad.objects.get(pk=created.pk)
    assert (rejected.status, rejected.errors) == (LoadStatus.REJECTED, [LOAD_GAVE_UP])
    page = client_as(broker).get(reverse("compliance:registry_load", args=[created.pk])).content.decode()
    assert LOAD_GAVE_UP in page and "Paused" not in page
    with time_machine.travel(now + timedelta(hours=1), tick=False):
        assert registry_loads_resume_stalled() == []
        assert registry_load_run(load_id=created.pk) is None  # nor run by a redelivered task
    assert held(national_registry) == []


def test_each_run_counts_a_try_and_the_fourth_delivery_rejects_the_load(national_registry):
    created = registry_load_create(source=national_registry, kind=LoadKind.FULL, version_date=date(2026, 11, 14),
                                   content=b"602,5550101\n", file_name="x.txt", loaded_by=None)
    assert registry_load_run(load_id=created.pk).attempts == 1
    # a worker died on it three times; the dead worker's task is redelivered once more
    RegistryLoad.objects.filter(pk=created.pk).update(status=LoadStatus.READING, attempts=3,
                                                      heartbeat_at=timezone.now() - timedelta(minutes=2))
    load = registry_load_run(load_id=created.pk)
    assert (load.status, load.errors, load.attempts) == (LoadStatus.REJECTED, [LOAD_GAVE_UP], 3)


def test_a_queued_load_whose_task_was_lost_is_sent_again_once(national_registry, monkeypatch):
    """The broker died between the upload and the send: nobody would ever run it."""
    created = registry_load_create(source=national_registry, kind=LoadKind.FULL, version_date=date(2026, 11, 14),
                                   content=b"602,5550101\n", file_name="x.txt", loaded_by=None)
    sent = []
    monkeypatch.setattr(tasks.registry_load_run, "delay", sent.append)
    with time_machine.travel(created.created_at + timedelta(minutes=2), tick=False):
        assert tasks.registry_loads_resume_stalled() == 0  # maybe waiting its turn behind a long task
    with time_machine.travel(created.created_at + timedelta(minutes=6), tick=False):
        assert tasks.registry_loads_resume_stalled() == 1
        assert tasks.registry_loads_resume_stalled() == 0  # sent once
    assert sent == [created.pk]
    assert tasks.registry_load_run(created.pk) == LoadStatus.DONE
    assert tasks.registry_load_run(created.pk) is None  # the first task, turning up late, does nothing
    assert held(national_registry) == [6025550101]
