"""The words that matter: revocation (B4) and prohibited promises (F6)."""

import pytest

from compliance.language import language_hits, revocation_scan

# The B4 words are data, in force from a date (docs/compliance-rules.md#b4-words): these read the seeded lists.
pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("reply", ["STOP", "stop", "Stop.", "QUIT", "end", "Revoke", "cancel", "UNSUBSCRIBE",
                                   "opt out", "Opt-Out", "optout"])
def test_b4_every_keyword_in_the_homeowners_words_revokes(reply):
    assert revocation_scan(reply, homeowners_own_words=True).clear


@pytest.mark.parametrize("note", ["She said stop calling her.", "Don't text this number", "remove me from your list",
                                  "Please take me off your list", "leave me alone", "no more calls"])
def test_b4_clear_phrases_in_an_agents_note_revoke(note):
    assert revocation_scan(note, homeowners_own_words=False).clear


def test_b4_a_lone_keyword_in_an_agents_note_goes_to_review_not_the_list():
    scan = revocation_scan("At the end of the call she asked for the guide.", homeowners_own_words=False)
    assert (scan.clear, scan.ambiguous) == (None, "end")


@pytest.mark.parametrize("message", [
    "Hi Maria, this is Ana with Sunbelt Realty about 12 Oak St. Reply STOP to opt out.",
    "Free seller guide attached. Text 'STOP' to unsubscribe",
    "Checking in about Tuesday. Reply STOP for no more texts.",
])
def test_b4_the_opt_out_notice_in_our_own_text_is_not_a_stop(message):
    assert revocation_scan(message, homeowners_own_words=False) == revocation_scan("", homeowners_own_words=False)


def test_b4_the_homeowner_quoting_the_notice_back_still_revokes():
    assert revocation_scan("Reply STOP to opt out", homeowners_own_words=True).clear == "STOP"


@pytest.mark.parametrize(("text", "matched"), [
    ("no mas", "no mas"), ("No más por favor", "No más"), ("wrong number", "wrong number"),
    ("stpo", "stpo"), ("STIP", "STIP"), ("sotp", "sotp"), ("stopp", "stopp"), ("quiit", "quiit"),
])
def test_b4_ambiguous_replies_and_typos_are_flagged_for_review(text, matched):
    scan = revocation_scan(text, homeowners_own_words=True)
    assert scan.clear is None and scan.ambiguous == matched


@pytest.mark.parametrize("text", ["Sounds good, call me Tuesday", "I need a step by step guide", "quite busy today",
                                  "Top of the morning", ""])
def test_b4_ordinary_replies_are_not_revocations(text):
    assert revocation_scan(text, homeowners_own_words=True) == revocation_scan("", homeowners_own_words=True)


@pytest.mark.django_db
@pytest.mark.parametrize(("text", "label"), [
    ("We GUARANTEE results", "guarantee(d)"),
    ("we can stop the foreclosure", "stop (the) foreclosure"),
    ("Save your home today", "save your home"),
    ("a government program for you", "government program / approved"),
    ("Making Home Affordable", "Making Home Affordable"),
    ("we work directly with your lender", "we work with your lender"),
    ("just stop paying your mortgage", "stop paying your mortgage"),
    ("pay us instead", "pay us instead"),
    ("sign the deed over to us", "sign the deed to us"),
    ("you can lease it back", "lease it back"),
    ("no-risk", "no risk"),
    ("You're pre-approved", "approved"),
    ("your lender will approve it", "your lender will approve"),
    ("we close in 30 days", "close in N days"),
])
def test_f6_the_seeded_phrase_table_catches_the_reference_phrases(text, label):
    assert label in {hit.label for hit in language_hits(text)}


@pytest.mark.django_db
def test_f6_a_respectful_script_passes():
    script = ("Hi, this is Ana, a licensed real estate agent with Sunbelt Realty. I help homeowners who are "
              "behind on payments understand their options, including a short sale. Your lender decides; "
              "I can't promise the outcome. May I send you our free guide?")
    assert language_hits(script) == []
