"""The webhook bench's own checks (bench/webhooks.py), at a tiny scale and without its server:
the stream it posts, the signatures it makes, and that its counts and its gate question
see what the webhook's service did, and would see what it failed to do
(docs/messaging.md#webhooks)."""

import random
from urllib.parse import parse_qsl

import pytest
from twilio.request_validator import RequestValidator

from bench import webhooks as bench
from compliance.models import InternalDncEntry
from pipeline.messaging.keywords import Keyword, read_inbound
from pipeline.messaging.providers.base import inbound_text_from
from pipeline.messaging.services import inbound_text_receive
from pipeline.models import Message

from ..compliance.factories import ConsentRecordFactory, ReassignedNumberCheckFactory
from ..leads.factories import ContactFactory, LeadFactory, PhoneFactory

INBOUND_PATH = "/webhooks/twilio/sms/"


@pytest.mark.django_db  # the stop words are data (docs/compliance-rules.md#b4-words)
def test_the_stream_has_its_stops_unknown_numbers_and_replays_after_their_originals():
    texts = bench.plan_texts(webhooks=200, leads=160, rng=random.Random(1))
    distinct = [text for text in texts if not text.replay]
    stops = [text for text in distinct if text.stop]

    assert len({text.sid for text in distinct}) == len(distinct) == 200
    assert len(stops) == 20 and len({text.number for text in stops}) == 20
    assert all(read_inbound(text.body).keyword == Keyword.STOP for text in stops)
    assert not any(read_inbound(text.body).keyword == Keyword.STOP for text in distinct if not text.stop)
    assert sum(not text.known for text in distinct) == 10
    seen = {}
    for position, text in enumerate(texts):
        if text.replay:
            original = texts[seen[text.sid]]
            assert (original.number, original.body, original.token) == (text.number, text.body, text.token)
        else:
            seen[text.sid] = position
    assert sum(text.replay for text in texts) == 10


def test_each_post_is_signed_as_twilio_signs_it_over_the_exact_address():
    text = bench.plan_texts(webhooks=10, leads=10, rng=random.Random(2))[0]
    request = bench.signed(text, INBOUND_PATH)
    params = dict(parse_qsl(request.body.decode()))
    signature = request.headers["X-Twilio-Signature"]
    validator = RequestValidator(bench.AUTH_TOKEN)

    assert params["MessageSid"] == text.sid and params["From"] == text.number and params["Body"] == text.body
    assert validator.validate(bench.PUBLIC_BASE_URL + INBOUND_PATH, params, signature)
    assert not validator.validate(bench.PUBLIC_BASE_URL + "/bench/webhook-bare/before/", params, signature)
    assert not RequestValidator("another-token").validate(bench.PUBLIC_BASE_URL + INBOUND_PATH, params, signature)


@pytest.mark.django_db
def test_a_signed_post_of_the_bench_is_taken_by_the_twilio_webhook(client, settings, lead):
    pytest.importorskip("pipeline.messaging.providers.twilio")
    settings.LEADCRM_TELEPHONY = "twilio"
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = bench.ACCOUNT_SID, bench.AUTH_TOKEN
    settings.LEADCRM_WEBHOOK_BASE_URL = bench.PUBLIC_BASE_URL
    text = bench.Text("SM" + "a" * 32, "+19185550104", "STOP", stop=True, known=True, token="t")
    request = bench.signed(text, INBOUND_PATH)
    headers = {name: value for name, value in request.headers.items() if name != "Content-Type"}

    for _ in range(2):  # the second is Twilio's retry
        response = client.post(INBOUND_PATH, data=request.body, content_type=request.headers["Content-Type"],
                               headers=headers)
        assert response.status_code == 200

    assert Message.objects.filter(provider_id=text.sid).count() == 1
    assert InternalDncEntry.objects.filter(phone_number="+19185550104").count() == 1


@pytest.fixture
def bench_leads(agent, national_registry, brokerage):
    """Ten leads of the agent, each owner's number one the bench's texts come from."""
    for n in range(10):
        phone = PhoneFactory(contact=ContactFactory(lead=LeadFactory(assigned_agent=agent)),
                             number=bench.lead_number(n))
        ConsentRecordFactory(phone=phone)
        ReassignedNumberCheckFactory(phone=phone)


@pytest.mark.django_db
def test_the_counts_see_every_text_filed_once_and_nothing_from_the_replays(bench_leads):
    texts = bench.plan_texts(webhooks=20, leads=10, rng=random.Random(3))
    for text in texts:
        inbound_text_receive(provider="twilio", inbound=inbound_text_from(text.params()))

    checks = bench._checks(texts, bench.Gate(at=bench.next_calling_hour(bench_now())))

    assert (checks.distinct, checks.rows, checks.missing, checks.doubled) == (20, 20, 0, 0)
    assert checks.once and checks.replays_created_nothing
    assert checks.filed_right == checks.known == 19 and checks.in_inbox == checks.unknown == 1
    assert checks.stop_entries == checks.stops == 2 and checks.keyword_misses == 0


@pytest.mark.django_db
def test_the_counts_see_a_text_missing_and_one_filed_twice(bench_leads):
    texts = bench.plan_texts(webhooks=20, leads=10, rng=random.Random(3))
    distinct = [text for text in texts if not text.replay]
    for text in distinct[1:]:
        inbound_text_receive(provider="twilio", inbound=inbound_text_from(text.params()))
    inbound_text_receive(provider="local", inbound=inbound_text_from(distinct[2].params()))

    checks = bench._checks(texts, bench.Gate(at=bench.next_calling_hour(bench_now())))

    assert (checks.missing, checks.doubled) == (1, 1)
    assert not checks.once


@pytest.mark.django_db
def test_the_gate_question_cites_b1_once_the_stop_is_filed_and_not_before(bench_leads):
    number = bench.lead_number(4)
    gate = bench.Gate(at=bench.next_calling_hour(bench_now()))
    before = gate.ask(number)
    assert not before.b1

    stop = bench.Text("SM" + "b" * 32, number, "stop texting me", stop=True, known=True)
    inbound_text_receive(provider="twilio", inbound=inbound_text_from(stop.params()))

    after = gate.ask(number)
    assert after.b1 and not after.allowed
    with pytest.raises(LookupError):
        gate.ask(bench.unknown_number(1))  # no probe lead in this brokerage


def bench_now():
    from django.utils import timezone

    return timezone.now()
