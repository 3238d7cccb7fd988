"""Two print runs of the same letters confirmed at the same moment log each letter once."""

import threading

import pytest
from django.db import connection

from leads.models import Lead
from pipeline.models import OutreachAttempt, TemplateKind
from pipeline.outreach.letters import mailing_confirm, print_run

from ...leads.factories import ContactFactory, LeadFactory
from ..factories import MessageTemplateFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="the lock is PostgreSQL's"),
]

LETTERS = 8


def test_two_print_runs_confirmed_at_once_log_each_letter_once(agent, team, brokerage):
    # given: the same letters shown in two tabs, each with its own confirmation
    letter = MessageTemplateFactory(kind=TemplateKind.LETTER, owner=agent, body="About your home at [Property Address].")
    for _ in range(LETTERS):
        ContactFactory(lead=LeadFactory(assigned_agent=agent, team=team))
    leads = Lead.objects.filter(assigned_agent=agent)
    runs = [print_run(template=letter, leads=leads, agent=agent) for _ in range(2)]
    assert [run.to_log for run in runs] == [LETTERS, LETTERS]
    start = threading.Barrier(len(runs))
    batches, errors = [], []

    def confirm(run):
        try:
            start.wait()
            batches.append(mailing_confirm(confirmation=run.confirmation, agent=agent))
        except Exception as error:  # reported by the assertion below, not lost in the thread
            errors.append(error)
        finally:
            connection.close()

    # when: both confirmed at the same moment
    threads = [threading.Thread(target=confirm, args=(run,)) for run in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # then: one run logged them all, the other prints them again
    assert errors == []
    assert OutreachAttempt.objects.filter(channel="mail").count() == LETTERS
    assert sorted(sorted({row["status"] for row in batch.letters}) for batch in batches) == [["logged"], ["reprint"]]
