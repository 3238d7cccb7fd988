import pytest
from django.urls import reverse

from compliance.models import Channel
from tests.compliance.factories import ConsentRecordFactory, ReassignedNumberCheckFactory


@pytest.fixture
def textable(lead):
    """The lead's number with written consent to texts and a fresh reassigned-numbers "no"."""
    phone = lead.contacts.first().phones.first()
    ConsentRecordFactory(phone=phone)
    ReassignedNumberCheckFactory(phone=phone)
    return phone


@pytest.fixture
def local_provider(settings):
    settings.LEADCRM_TELEPHONY = "local"
    return settings


__all__ = ["Channel"]

# The agent's own phone that click-to-call rings first, and the pool's number calls show.
AGENT_PHONE = "+19185550199"
SENDER = "+15005550006"


@pytest.fixture
def caller(agent):
    """The agent, with a phone for click-to-call to ring."""
    agent.call_phone = AGENT_PHONE
    agent.save(update_fields=["call_phone"])
    return agent


@pytest.fixture
def phone(lead):
    return lead.contacts.first().phones.first()


@pytest.fixture
def twilio_standin(settings, live_server):
    """A local stand-in of Twilio's API; the app talks to it through the real ``twilio``
    library, and it posts signed callbacks back to ``live_server`` (tests/support/twilio_standin.py).
    Tests using it need ``transactional_db`` (the server threads must see their rows)."""
    from tests.support.twilio_standin import TwilioStandIn

    standin = TwilioStandIn().start()
    settings.LEADCRM_TELEPHONY = "twilio"
    settings.TWILIO_ACCOUNT_SID = standin.account_sid
    settings.TWILIO_AUTH_TOKEN = standin.auth_token
    settings.TWILIO_NUMBERS = [SENDER]
    settings.TWILIO_MESSAGING_SERVICE_SID = ""
    settings.TWILIO_API_BASE_URL = standin.url
    settings.LEADCRM_WEBHOOK_BASE_URL = live_server.url
    # The pool's number is held and answers on our voice line: calls from it pass D2.
    standin.hold_number(SENDER, voice_url=live_server.url + reverse("messaging:twilio_voice"))
    yield standin
    standin.stop()
