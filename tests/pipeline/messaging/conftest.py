import pytest

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
