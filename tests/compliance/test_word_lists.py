"""The B4 word lists as versioned data (docs/compliance-rules.md#b4-words): a broker's counsel
adds or ends a stop word, a stop phrase or a word a stop confirmation may not say from a date,
and a text is judged by the lists in force on the day it was received or said. The statutory
stop words are a floor no row removes, and no ordinary word becomes a START."""

import logging
import zoneinfo
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from compliance.admin import (
    WORD_ENDS_BEFORE_TODAY,
    WORD_IN_FORCE_SINCE,
    WORD_STARTS_BEFORE_TODAY,
    RevocationWordAdmin,
    RevocationWordForm,
)
from compliance.language import revocation_scan, revocation_words
from compliance.models import (
    WORD_BAD_PATTERN,
    WORD_EMPTY,
    WORD_START_NOT_CARRIER,
    WORD_STATUTORY,
    Channel,
    InternalDncEntry,
    Purpose,
    RevocationWord,
    Verdict,
    WordKind,
)
from compliance.rulebook import forget
from compliance.services import outreach_preview
from compliance.words import (
    BUILT_IN_CONFIRMATION,
    BUILT_IN_HELP,
    BUILT_IN_START,
    BUILT_IN_STOP,
    BUILT_IN_STOP_PHRASES,
    FLOOR_NOT_IN_FORCE,
    NONE_IN_FORCE,
    STATUTORY_STOP,
    day_of,
    word_lists,
)
from pipeline.messaging.keywords import Keyword, read_inbound
from pipeline.messaging.providers.base import InboundText
from pipeline.messaging.services import inbound_text_receive
from pipeline.models import Outcome
from pipeline.outreach.services import outreach_log

pytestmark = pytest.mark.django_db

CENTRAL = zoneinfo.ZoneInfo("America/Chicago")


@pytest.fixture
def today():
    return day_of()


def counsel_adds(kind, word, *, on, anywhere=False, language="en", until=None):
    """A row as the admin saves it: cleaned (normalised, its pattern checked), then saved."""
    row = RevocationWord(kind=kind, word=word, anywhere=anywhere, language=language, effective_from=on,
                         effective_to=until, why="Counsel's change.")
    row.full_clean()
    row.save()
    return row


def counsel_ends(kind, word, *, last_day):
    """A row given its last day as the admin does: cleaned, then saved."""
    row = RevocationWord.objects.get(kind=kind, word=word, effective_to=None)
    row.effective_to = last_day
    row.full_clean()
    row.save(update_fields=["effective_to", "updated_at"])


# Day one: the seeded lists read exactly as the code did -----------------------------------


def test_b4_the_seeded_lists_are_the_built_in_ones(today):
    seeded, built_in = revocation_words(today), word_lists((), on=today)
    assert seeded.stop == built_in.stop == {word for word, _ in BUILT_IN_STOP}
    assert seeded.stop_keywords.pattern == built_in.stop_keywords.pattern
    assert [p.pattern for p in seeded.stop_phrases] == [p.pattern for p in built_in.stop_phrases]
    assert len(seeded.stop_phrases) == len(BUILT_IN_STOP_PHRASES)
    assert [p.pattern for p in seeded.confirmation] == [p.pattern for p in built_in.confirmation]
    assert len(seeded.confirmation) == len(BUILT_IN_CONFIRMATION)
    assert (seeded.start, seeded.help) == (frozenset(BUILT_IN_START), frozenset(BUILT_IN_HELP))


# Stop words ---------------------------------------------------------------------------------


def test_b4_counsel_adds_basta_as_a_stop_word_from_a_date(today):
    # given "basta" a stop word from tomorrow, as the whole text
    counsel_adds(WordKind.STOP, "BASTA", on=today + timedelta(days=1), language="es")
    # then a "basta" received today is a reply, one received from tomorrow a stop
    assert read_inbound("basta", on=today).keyword == Keyword.NONE
    assert read_inbound("Basta!", on=today + timedelta(days=1)).keyword == Keyword.STOP
    assert read_inbound("basta", on=today + timedelta(days=30)).revocation.clear == "basta"
    # as the whole text only: inside a sentence it is not one
    assert read_inbound("basta con el precio", on=today + timedelta(days=1)).keyword == Keyword.NONE


def test_b4_a_stop_word_that_counts_anywhere_revokes_inside_a_reply_and_goes_to_review_in_a_note(today):
    counsel_adds(WordKind.STOP, "desist", on=today, anywhere=True)
    assert read_inbound("Please desist now", on=today).keyword == Keyword.STOP
    assert revocation_scan("She said desist", homeowners_own_words=False, on=today).ambiguous == "desist"
    assert read_inbound("Please desist now", on=today - timedelta(days=1)).keyword == Keyword.NONE


@pytest.mark.parametrize("word", STATUTORY_STOP)
def test_b4_a_statutory_stop_word_cannot_be_ended_deactivated_or_made_whole_text_only(word, today):
    """B4 floor: STOP, QUIT, END, REVOKE, OPT OUT, CANCEL, UNSUBSCRIBE (and STOPALL) revoke by
    law; counsel may add stop words, not remove these."""
    with pytest.raises(ValidationError) as refused:
        counsel_ends(WordKind.STOP, word, last_day=today)
    assert refused.value.message_dict == {"effective_to": [WORD_STATUTORY]}
    row = RevocationWord.objects.get(kind=WordKind.STOP, word=word)
    assert row.effective_to is None
    # nor may a new version count only as the whole text, or be saved switched off
    with pytest.raises(ValidationError) as refused:
        counsel_adds(WordKind.STOP, word.upper(), on=today + timedelta(days=1), anywhere=False)
    assert refused.value.message_dict["anywhere"] == [WORD_STATUTORY]
    switched_off = RevocationWord(kind=WordKind.STOP, word=word, anywhere=True, is_active=False,
                                  effective_from=today + timedelta(days=1))
    with pytest.raises(ValidationError) as refused:
        switched_off.full_clean()
    assert refused.value.message_dict["is_active"] == [WORD_STATUTORY]


def test_b4_the_admin_refuses_to_end_end_and_says_why(admin_client, today):
    end = RevocationWord.objects.get(kind=WordKind.STOP, word="end")
    assert form_for(end, effective_to=today).errors["effective_to"] == [WORD_STATUTORY]
    assert WORD_STATUTORY in form_for(end, is_active=False).errors["is_active"]
    response = admin_client.post(reverse("admin:compliance_revocationword_add"), {
        "kind": WordKind.STOP, "word": "END", "language": "en", "why": "", "effective_from": today.isoformat(),
        "source": "", "verified": "on", "is_active": "on"})  # "anywhere" unticked
    assert response.status_code == 200
    assert "revoke by law" in response.content.decode()
    assert RevocationWord.objects.filter(word="end").count() == 1


def test_b4_end_still_stops_when_its_row_is_ended_or_unticked_behind_the_admins_back(today, caplog):
    """B4 floor: a bulk write or a migration that ends END and makes STOP whole-text only
    changes nothing: both revoke, alone and inside a reply, and an error is logged."""
    RevocationWord.objects.filter(kind=WordKind.STOP, word="end").update(effective_to=today - timedelta(days=1))
    RevocationWord.objects.filter(kind=WordKind.STOP, word="stop").update(anywhere=False)
    forget()
    with caplog.at_level(logging.ERROR, logger="compliance.words"):
        assert read_inbound("END", on=today).keyword == Keyword.STOP
        assert read_inbound("that is the end of it", on=today).keyword == Keyword.STOP
        assert read_inbound("please stop", on=today).keyword == Keyword.STOP
        assert revocation_scan("She said end", homeowners_own_words=False, on=today).ambiguous == "end"
    assert FLOOR_NOT_IN_FORCE % ("stop, end", today) in caplog.messages


def test_b4_the_floor_is_in_every_stop_list_whatever_the_rows(today):
    only_basta = [RevocationWord(kind=WordKind.STOP, word="basta", anywhere=False)]
    lists = word_lists(only_basta, on=today)
    assert lists.stop == {"basta", *STATUTORY_STOP}
    for word in STATUTORY_STOP:
        assert lists.stop_keyword(f"ok {word} now"), word
    assert not lists.stop_keyword("basta ya")  # what counsel added counts as counsel said


def test_b4_counsel_ends_a_word_counsel_added_from_a_date_and_a_past_day_keeps_it(today):
    # given "desist" added last week, then ended: yesterday its last day
    counsel_adds(WordKind.STOP, "desist", on=today - timedelta(days=7), anywhere=True)
    counsel_ends(WordKind.STOP, "desist", last_day=today - timedelta(days=1))
    # then from today "desist" is a reply, alone or in a sentence; the other words still stop
    assert read_inbound("DESIST", on=today).keyword == Keyword.NONE
    assert read_inbound("please desist", on=today).keyword == Keyword.NONE
    assert read_inbound("STOP", on=today).keyword == Keyword.STOP
    # and a text of yesterday, read again, is still the stop it was
    assert read_inbound("DESIST", on=today - timedelta(days=1)).keyword == Keyword.STOP
    # a seeded word outside the floor (Spanish, as the whole text) may be ended too
    counsel_ends(WordKind.STOP, "para", last_day=today)
    assert read_inbound("para", on=today + timedelta(days=1)).keyword == Keyword.NONE


# Start words: the list may shrink, never gain an ordinary word --------------------------


@pytest.mark.parametrize("word", ["yes", "OK", "sure", "y", "si", "resume", "subscribe"])
def test_b4_a_start_word_other_than_start_or_unstop_is_refused(word, today):
    """B4: a START lifts a stop (docs/compliance-rules.md#b4-start), so only the carriers'
    START and UNSTOP may be one; an ordinary reply never."""
    with pytest.raises(ValidationError) as refused:
        counsel_adds(WordKind.START, word, on=today + timedelta(days=1))
    assert refused.value.message_dict == {"word": [WORD_START_NOT_CARRIER]}
    form = RevocationWordForm(data={"kind": WordKind.START, "word": word, "language": "en",
                                    "effective_from": today, "verified": True, "is_active": True})
    assert form.errors["word"] == [WORD_START_NOT_CARRIER]
    assert read_inbound(word, on=today + timedelta(days=1)).keyword != Keyword.START


def test_b4_the_start_list_may_shrink(today):
    assert read_inbound("UNSTOP", on=today).keyword == Keyword.START
    counsel_ends(WordKind.START, "unstop", last_day=today)
    assert read_inbound("UNSTOP", on=today + timedelta(days=1)).keyword == Keyword.NONE
    assert read_inbound("START", on=today + timedelta(days=1)).keyword == Keyword.START
    # and a carrier keyword may come back, as a new version
    assert counsel_adds(WordKind.START, "Unstop!", on=today + timedelta(days=2)).word == "unstop"


def test_b4_with_no_stop_word_in_force_the_built_in_list_holds_and_an_error_is_logged(today, caplog):
    # given every stop word ended yesterday (a bulk write forgets the rulebook itself)
    RevocationWord.objects.filter(kind=WordKind.STOP).update(effective_to=today - timedelta(days=1))
    forget()
    # then a STOP is still a stop: never "nothing is a stop"
    with caplog.at_level(logging.ERROR, logger="compliance.words"):
        assert read_inbound("STOP", on=today).keyword == Keyword.STOP
        assert read_inbound("end", on=today).keyword == Keyword.STOP
    assert NONE_IN_FORCE % ("stop", today) in caplog.messages


def test_b4_a_word_added_is_read_at_once_the_rulebook_forgets_on_save(today):
    assert read_inbound("basta", on=today).keyword == Keyword.NONE  # the lists are read and kept
    counsel_adds(WordKind.STOP, "basta", on=today)
    assert read_inbound("basta", on=today).keyword == Keyword.STOP


# Stop phrases -------------------------------------------------------------------------------


def test_b4_counsel_adds_a_stop_phrase_from_a_date(today):
    counsel_adds(WordKind.STOP_PHRASE, r"lose\s+(?:my|this)\s+number", on=today)
    assert read_inbound("Just lose my number", on=today).keyword == Keyword.STOP
    # a phrase revokes in an agent's note too, unlike a lone keyword
    assert revocation_scan("He said lose this number", homeowners_own_words=False, on=today).clear == "lose this number"
    assert read_inbound("Just lose my number", on=today - timedelta(days=1)).keyword == Keyword.NONE


def test_b4_two_phrases_may_name_the_same_group(today):
    counsel_adds(WordKind.STOP_PHRASE, r"(?P<verb>lose)\s+my\s+number", on=today)
    counsel_adds(WordKind.STOP_PHRASE, r"(?P<verb>forget)\s+my\s+number", on=today)
    assert read_inbound("forget my number", on=today).keyword == Keyword.STOP


# Confirmation words -------------------------------------------------------------------------


def test_b4_a_word_counsel_adds_to_the_confirmation_list_blocks_a_confirmation_from_its_day(lead, agent, today):
    phone = lead.contacts.first().phones.first()
    outreach_log(lead=lead, channel=Channel.SMS, contact_point=phone, outcome=Outcome.REPLIED, actor=agent,
                 role_disclosed=True, direction="inbound", notes="STOP")

    def confirm():
        # a preview: asked three times, the one confirmation is not used up by the asking
        return outreach_preview(lead=lead, contact_point=phone, channel=Channel.SMS, actor=agent,
                                at=datetime(2026, 11, 18, 14, 1, tzinfo=CENTRAL), role_disclosed=True,
                                purpose=Purpose.REVOCATION_CONFIRMATION,
                                message="Removed. We can set an appointment whenever you like.")

    assert confirm().verdict == Verdict.ALLOW
    counsel_adds(WordKind.CONFIRMATION, r"appointments?", on=today + timedelta(days=1))
    assert confirm().verdict == Verdict.ALLOW  # not yet in force on the day of the check
    counsel_adds(WordKind.CONFIRMATION, r"set\s+an\s+appointment", on=today)
    decision = confirm()
    assert decision.verdict == Verdict.BLOCK and decision.rule_ids[0] == "B4"
    assert "set an appointment" in decision.reasons[0]


# An inbound text, through the provider seam, is read with the lists of the day it came in --


def test_b4_an_inbound_text_is_read_with_the_lists_of_the_day_it_was_received(lead, today, settings):
    settings.LEADCRM_TELEPHONY = "local"
    phone = lead.contacts.first().phones.first()
    counsel_adds(WordKind.STOP, "basta", on=today)

    def inbound(provider_id, at):
        return inbound_text_receive(provider="local", inbound=InboundText(
            provider_id=provider_id, from_number=phone.number, to_number="+15005550006", body="Basta",
            received_at=at))

    # a text of last week, taken in late (a provider's retry), is judged by last week's list
    assert inbound("SM-old", timezone.now() - timedelta(days=7)).keyword == Keyword.NONE
    assert not InternalDncEntry.objects.exists()
    assert inbound("SM-new", timezone.now()).keyword == Keyword.STOP
    assert InternalDncEntry.objects.filter(phone_number=phone.number).exists()


def test_b4_the_lists_are_those_of_the_gates_day_whatever_time_zone_is_active(lead, agent):
    """B4: read without a day, the lists are those of the day the gate dates a check made now
    (in UTC), not of the active time zone's calendar: 19 November 01:30 UTC is still the 18th in
    Chicago, and a word in force only on the 19th decides both the gate and the reading."""
    the_19th = datetime(2026, 11, 19, tzinfo=UTC).date()
    counsel_adds(WordKind.STOP, "basta", on=the_19th, until=the_19th)
    counsel_adds(WordKind.CONFIRMATION, r"appointments?", on=the_19th, until=the_19th)
    phone = lead.contacts.first().phones.first()
    with time_machine.travel(datetime(2026, 11, 19, 1, 30, tzinfo=UTC), tick=False), timezone.override(CENTRAL):
        assert timezone.localdate().day == 18 and day_of().day == 19
        assert read_inbound("basta").keyword == Keyword.STOP
        assert "basta" in revocation_words().stop
        outreach_log(lead=lead, channel=Channel.SMS, contact_point=phone, outcome=Outcome.REPLIED, actor=agent,
                     role_disclosed=True, direction="inbound", notes="STOP")
        decision = outreach_preview(lead=lead, contact_point=phone, channel=Channel.SMS, actor=agent,
                                    at=timezone.now(), role_disclosed=True, purpose=Purpose.REVOCATION_CONFIRMATION,
                                    message="Removed. No appointments.")
        assert decision.verdict == Verdict.BLOCK and "appointments" in decision.reasons[0]


# What counsel may save --------------------------------------------------------------------


@pytest.mark.parametrize("pattern", [r"(unclosed", r"lose\s+my\s+number)", r"*stop"])
def test_b4_an_invalid_pattern_is_refused_when_saved_not_at_the_next_text(pattern, today):
    with pytest.raises(ValidationError) as refused:
        counsel_adds(WordKind.STOP_PHRASE, pattern, on=today)
    assert refused.value.message_dict["word"][0].startswith(WORD_BAD_PATTERN.split("{")[0])
    form = RevocationWordForm(data={"kind": WordKind.CONFIRMATION, "word": pattern, "language": "en",
                                    "effective_from": today, "verified": True, "is_active": True})
    assert "word" in form.errors
    assert not RevocationWord.objects.filter(word=pattern).exists()


def test_b4_a_stop_word_is_kept_as_a_text_reads_and_one_of_punctuation_alone_is_refused(today):
    assert counsel_adds(WordKind.STOP, "  ¡BASTA! ", on=today).word == "basta"
    with pytest.raises(ValidationError) as refused:
        counsel_adds(WordKind.STOP, "!!!", on=today)
    assert refused.value.message_dict["word"] == [WORD_EMPTY]


def form_for(row, **changes):
    data = {name: getattr(row, name) for name in RevocationWordForm.Meta.fields}
    data.update(changes)
    return RevocationWordForm(data={k: v for k, v in data.items() if v is not None}, instance=row)


def test_b4_a_word_in_force_in_the_past_is_never_edited_only_ended_from_today(today):
    para = RevocationWord.objects.get(kind=WordKind.STOP, word="para")
    assert form_for(para, word="parada").errors["__all__"] == [WORD_IN_FORCE_SINCE.format(since=para.effective_from)]
    assert "__all__" in form_for(para, is_active=False).errors
    assert form_for(para, effective_to=today - timedelta(days=1)).errors["effective_to"] == [WORD_ENDS_BEFORE_TODAY]
    assert form_for(para, effective_to=today).is_valid()
    # a new version (the admin's "Save as new") is in force from today at the earliest
    new = RevocationWordForm(data={"kind": WordKind.STOP, "word": "enough", "language": "en", "verified": True,
                                   "is_active": True, "effective_from": today - timedelta(days=1)})
    assert new.errors["effective_from"] == [WORD_STARTS_BEFORE_TODAY]


def test_b4_a_word_not_yet_in_force_may_be_changed_or_deleted(today, admin_user, rf):
    later = counsel_adds(WordKind.STOP, "basta", on=today + timedelta(days=3))
    assert form_for(later, word="bastaya", effective_from=today + timedelta(days=2)).is_valid()
    request = rf.get("/")
    request.user = admin_user
    word_admin = RevocationWordAdmin(RevocationWord, admin.site)
    assert word_admin.has_delete_permission(request, later)
    assert not word_admin.has_delete_permission(request, RevocationWord.objects.get(kind=WordKind.STOP, word="stop"))
    assert "delete_selected" not in word_admin.get_actions(request)


def test_b4_the_admin_refuses_a_bad_pattern_with_the_reason(admin_client, today):
    response = admin_client.post(reverse("admin:compliance_revocationword_add"), {
        "kind": WordKind.STOP_PHRASE, "word": "(unclosed", "language": "en", "why": "",
        "effective_from": today.isoformat(), "source": "", "verified": "on", "is_active": "on"})
    assert response.status_code == 200
    assert "Not a valid pattern" in response.content.decode()
    assert not RevocationWord.objects.filter(word="(unclosed").exists()
