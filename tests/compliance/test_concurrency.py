"""Two agents logging at the same moment cannot both slip under a state's cap (E2)."""

import threading
from datetime import datetime, timedelta

import pytest
from django.db import connection

from compliance.models import Channel
from compliance.services import registry_version_record
from pipeline.models import Outcome, OutreachAttempt
from pipeline.outreach.services import OutreachBlocked, outreach_log

from ..leadcrm.factories import AgentFactory
from ..leads.factories import ContactFactory, LeadFactory, PhoneFactory, PropertyFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="row locks are PostgreSQL's"),
]


def test_e2_four_agents_logging_at_once_to_a_florida_number_make_exactly_three_attempts(national_registry):
    registry_version_record(source=national_registry, area_codes=["850"],
                            version_date=(datetime.now().date() - timedelta(days=2)))
    agents = [AgentFactory() for _ in range(4)]
    lead = LeadFactory(assigned_agent=agents[0], property=PropertyFactory(state="FL", zip_code="32507"))
    phone = PhoneFactory(contact=ContactFactory(lead=lead, mailing_state="FL", mailing_zip="32507"),
                         number="+18505550177")
    start = threading.Barrier(len(agents))
    results = []

    def dial(agent):
        try:
            start.wait()
            outreach_log(lead=lead, channel=Channel.CALL, contact_point=phone, outcome=Outcome.NO_ANSWER,
                         actor=agent, role_disclosed=True)
            results.append("logged")
        except OutreachBlocked as blocked:
            results.append(tuple(blocked.decision.rule_ids))
        finally:
            connection.close()

    threads = [threading.Thread(target=dial, args=(agent,)) for agent in agents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results, key=str) == [("E2",), "logged", "logged", "logged"]
    assert OutreachAttempt.objects.filter(phone=phone).count() == 3
