"""What an inbound text asks for (B4; docs/compliance-rules.md#b4), one row per way of saying it."""

import pytest

from pipeline.messaging.keywords import Keyword, read_inbound

# The words are data, in force from a date (docs/compliance-rules.md#b4-words): these read the seeded lists.
pytestmark = pytest.mark.django_db

STOP, START, HELP, REVIEW, NONE = Keyword.STOP, Keyword.START, Keyword.HELP, Keyword.REVIEW, Keyword.NONE


@pytest.mark.parametrize(("body", "keyword"), [
    # the carriers' keywords, alone, in any case, with punctuation, spaces or emoji around them
    ("STOP", STOP), ("stop", STOP), ("Stop.", STOP), ("STOP!!!", STOP), ("  stop  ", STOP), ("Stop 🛑", STOP),
    ("🙏 stop", STOP), ("S.T.O.P", STOP), ("\uff33\uff34\uff2f\uff30", STOP),  # full-width letters
    ("STOPALL", STOP), ("stop all", STOP), ("UNSUBSCRIBE", STOP), ("Cancel", STOP), ("END", STOP),
    ("quit", STOP), ("REVOKE", STOP), ("OPTOUT", STOP), ("opt out", STOP), ("Opt-Out", STOP),
    # Spanish, as the whole text
    ("ALTO", STOP), ("Parar", STOP), ("para!", STOP), ("DETENER", STOP), ("cancelar", STOP),
    # in a sentence: any keyword as a whole word, or a plain request
    ("Please STOPALL texts", STOP), ("stop texting me", STOP), ("please unsubscribe me", STOP),
    ("don't text me", STOP), ("Don\u2019t text me", STOP), ("do not ever text me again", STOP),
    ("dont contact me", STOP), ("Remove me", STOP), ("please remove me from your list", STOP),
    ("Take me off your list", STOP), ("take my number off", STOP), ("delete my number", STOP),
    ("opt me out", STOP), ("leave me alone", STOP), ("no more texts please", STOP),
    ("No me llames más", STOP), ("por favor no me escribas", STOP),
    # both a stop and a start: the stop wins
    ("STOP START", STOP), ("start stop", STOP),
    # re-subscription: the carriers' words only, alone
    ("START", START), ("start", START), ("Start.", START), ("UNSTOP", START), ("unstop!", START),
    ("START 👍", START),
    # help
    ("HELP", HELP), ("help?", HELP), ("INFO", HELP), ("Info.", HELP),
    # may mean stop: a person looks at it
    ("wrong number", REVIEW), ("No más", REVIEW), ("no mas", REVIEW), ("stpo", REVIEW), ("sotp", REVIEW),
    ("STOP2", REVIEW), ("not interested", REVIEW), ("who is this?", REVIEW), ("🛑", REVIEW), ("⛔", REVIEW),
    # replies
    ("Yes", NONE), ("yes please call me tomorrow", NONE), ("start over?", NONE), ("Sounds good", NONE),
    ("The price is too alto for us", NONE), ("es para mi hermana", NONE), ("helpful, thanks", NONE),
    ("", NONE), ("👍", NONE),
])
def test_an_inbound_text_is_read_as(body, keyword):
    assert read_inbound(body).keyword == keyword


@pytest.mark.parametrize("body", ["STOP", "Stop.", "don't text me", "ALTO", "STOPALL"])
def test_a_stop_carries_the_words_that_revoke(body):
    reading = read_inbound(body)
    assert reading.revocation.clear and reading.revocation.ambiguous is None


@pytest.mark.parametrize("body", ["START", "HELP", "Sounds good"])
def test_start_help_and_replies_revoke_nothing(body):
    reading = read_inbound(body)
    assert (reading.revocation.clear, reading.revocation.ambiguous) == (None, None)


def test_a_review_carries_what_made_it_unclear():
    assert read_inbound("Sorry, wrong number").revocation.ambiguous == "wrong number"
    assert read_inbound("🛑").revocation.ambiguous == "🛑"
