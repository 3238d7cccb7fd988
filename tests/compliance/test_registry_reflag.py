"""A registry load re-flags only the phones whose numbers it added or removed (A5), and the
flags it leaves are exactly those a full recompute gives."""

import random
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from compliance import services, tasks
from compliance.models import InternalDncEntry, LoadKind, LoadStatus
from compliance.services import phones_reflag, registry_load_create, registry_load_run
from leads.models import Phone

from ..helpers import jobs
from ..leadcrm.factories import AgentFactory
from ..leads.factories import PhoneFactory
from .factories import DncSourceFactory

pytestmark = pytest.mark.django_db

# Our phones: twenty numbers in each of two area codes; the registries list some of them
# and numbers of nobody's.
OURS = [f"{code}55501{n:02d}" for code in ("602", "918") for n in range(20)]
OTHERS = [f"{code}55509{n:02d}" for code in ("602", "918") for n in range(20)]
BOTH = ("602", "918")  # the area codes a full list in the random test replaces


def flags():
    return dict(Phone.objects.values_list("number", "on_dnc_list"))


def run(source, kind, lines, version, area_codes=()):
    created = registry_load_create(source=source, kind=kind, version_date=version, content=lines.encode(),
                                   file_name="file.txt", loaded_by=None, area_codes=area_codes)
    done = registry_load_run(load_id=created.pk)
    assert done.status == LoadStatus.DONE, done.errors
    return done


def full(source, numbers, version, area_codes=()):
    return run(source, LoadKind.FULL, "".join(f"{n}\n" for n in sorted(numbers)), version, area_codes)


def change(source, adds, deletes, version):
    lines = [f"{n},A\n" for n in sorted(adds)] + [f"{n},D\n" for n in sorted(deletes)]
    return run(source, LoadKind.CHANGE, "".join(lines), version)


@pytest.fixture
def phones(db):
    made = [PhoneFactory(number=f"+1{number}") for number in OURS]
    PhoneFactory(number=f"+1{OURS[0]}")  # the same number on a second owner
    return made


def test_a_full_list_turns_on_the_numbers_it_adds_and_off_those_it_drops(phones):
    source = DncSourceFactory()
    start = timezone.localdate() - timedelta(days=30)
    first = full(source, OURS[:3] + OTHERS[:5], start)
    assert first.phones_reflagged == 4  # the first number is on two owners
    assert [n for n, on in flags().items() if on] == [f"+1{n}" for n in OURS[:3]]
    # The next month: one of ours dropped, one added, numbers of nobody's come and go.
    second = full(source, [OURS[0], OURS[2], OURS[5]] + OTHERS[3:9], start + timedelta(days=28))
    assert second.phones_reflagged == 2
    assert sorted(n for n, on in flags().items() if on) == sorted(f"+1{n}" for n in (OURS[0], OURS[2], OURS[5]))
    assert phones_reflag() == 0  # what a full recompute gives


def test_a_number_removed_from_one_list_stays_flagged_while_another_holds_it(phones):
    national, state = DncSourceFactory(), DncSourceFactory(name="Texas list")
    start = timezone.localdate() - timedelta(days=30)
    full(national, OURS[:2], start)
    full(state, OURS[1:3], start)
    change(national, adds=[OURS[4]], deletes=[OURS[1]], version=start + timedelta(days=1))
    assert sorted(n for n, on in flags().items() if on) == sorted(f"+1{n}" for n in (OURS[0], OURS[1], OURS[2],
                                                                                    OURS[4]))
    full(state, [OURS[3]], start + timedelta(days=2))  # the state list drops 1 and 2: 1 is off, 2 too
    assert sorted(n for n, on in flags().items() if on) == sorted(f"+1{n}" for n in (OURS[0], OURS[3], OURS[4]))
    assert phones_reflag() == 0


def test_random_loads_leave_the_flags_a_full_recompute_gives(phones):
    """Full lists and change lists of three registries (one switched off), with stops on the
    internal list; after every load the flags are checked against a full recompute."""
    rng = random.Random(28)
    national, state, off = DncSourceFactory(), DncSourceFactory(name="State list"), DncSourceFactory(name="Old list")
    off.is_active = False
    off.save(update_fields=["is_active"])
    agent = AgentFactory()
    for number in OURS[5:7]:
        InternalDncEntry.objects.create(phone_number=f"+1{number}", channel="call", homeowner_words="Stop.",
                                        recorded_by=agent)
    phones_reflag()
    day = timezone.localdate() - timedelta(days=60)
    pool = OURS + OTHERS
    held = {national.pk: set(), state.pk: set(), off.pk: set()}
    for source in (national, state, off):
        held[source.pk] = set(rng.sample(pool, 12))
        full(source, held[source.pk], day, BOTH)
    assert phones_reflag() == 0
    changed = 0
    for _ in range(12):
        day += timedelta(days=1)
        source = rng.choice([national, state, off])
        if rng.random() < 0.5:
            held[source.pk] = set(rng.sample(pool, rng.randint(0, 16)))
            if not held[source.pk]:
                held[source.pk] = {OTHERS[0]}  # a full list is never empty
            done = full(source, held[source.pk], day, BOTH)
        else:
            adds = set(rng.sample(pool, 3))
            deletes = set(rng.sample(sorted(held[source.pk]), min(3, len(held[source.pk])))) - adds
            held[source.pk] = (held[source.pk] | adds) - deletes
            done = change(source, adds, deletes, day)
        changed += done.phones_reflagged
        assert phones_reflag() == 0, f"load {done} left flags a full recompute changes"
    assert changed  # the loads did change flags, and they did it themselves
    on_a_list = held[national.pk] | held[state.pk] | set(OURS[5:7])
    assert flags() == {f"+1{n}": n in on_a_list for n in OURS}


def test_too_many_flags_to_probe_are_set_by_one_pass_over_the_area_codes(phones, monkeypatch):
    monkeypatch.setattr(services, "PROBE_MAX_PHONES", 2)
    asked = []
    real = services.phones_reflag
    monkeypatch.setattr(services, "phones_reflag", lambda **kw: asked.append(kw) or real(**kw))
    source = DncSourceFactory()
    done = full(source, OURS[:5], timezone.localdate() - timedelta(days=3))
    assert asked == [{"area_codes": ["602"]}]
    assert done.phones_reflagged == 6
    assert phones_reflag() == 0


def test_the_load_task_flags_the_phones_itself_and_queues_nothing(phones, django_capture_on_commit_callbacks):
    source = DncSourceFactory()
    created = registry_load_create(source=source, kind=LoadKind.FULL, version_date=timezone.localdate(),
                                   content=f"{OURS[7]}\n".encode(), file_name="x.txt", loaded_by=None)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        assert tasks.registry_load_run(created.pk) == LoadStatus.DONE
    assert jobs(queued) == []
    assert [n for n, on in flags().items() if on] == [f"+1{OURS[7]}"]


def test_load_dnc_says_how_many_phones_the_load_reflagged(phones, tmp_path, capsys):
    path = tmp_path / "602.txt"
    path.write_bytes(f"{OURS[1]}\n{OURS[2]}\n{OTHERS[1]}\n".encode())
    call_command("load_dnc", str(path), "--source", "national", "--as-of", str(timezone.localdate()))
    assert "Phones re-flagged by the load: 2 changed." in capsys.readouterr().out


def test_a_phone_added_while_a_load_runs_is_flagged_once_it_commits(phones, monkeypatch):
    # An import inserts a phone (flagged against the lists before the load) after the load
    # read the flags for its diff and before it commits, and renumbers another one.
    real = services.numbers_to_reflag
    made = {}

    def import_meanwhile(**kwargs):
        numbers = real(**kwargs)
        made["new"] = PhoneFactory(number=f"+1{OTHERS[0]}", on_dnc_list=False)
        renumbered = Phone.objects.get(number=f"+1{OURS[3]}")
        renumbered.number = f"+1{OTHERS[1]}"
        renumbered.save()
        return numbers

    monkeypatch.setattr(services, "numbers_to_reflag", import_meanwhile)
    source = DncSourceFactory()
    done = full(source, [OURS[4], OTHERS[0], OTHERS[1]], timezone.localdate())
    assert Phone.objects.get(pk=made["new"].pk).on_dnc_list
    assert Phone.objects.get(number=f"+1{OTHERS[1]}").on_dnc_list
    assert done.phones_reflagged == 3
    assert phones_reflag() == 0
