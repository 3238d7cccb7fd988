"""factory_boy factories of the compliance app: registries, the gate's checks, the
evidence that allows a call (consent, relationships, disclosures, reassigned-number
answers), revocation reviews and the versioned rule tables.

Each factory makes the smallest valid row, overridable per test. The evidence
factories take ``phone=`` (a Phone) for the number and its lead.
"""

from datetime import time, timedelta

import factory
from django.utils import timezone

from compliance.models import (
    Channel,
    CheckMode,
    ComplianceCheck,
    ConsentRecord,
    DncSource,
    EstablishedRelationship,
    EvidenceFile,
    EvidenceRevocation,
    InterestDisclosure,
    Purpose,
    ReassignedNumberCheck,
    RegistryKind,
    RegistryLoad,
    RelationshipKind,
    RevocationReview,
    RndResult,
    RuleParameter,
    StateCallingRule,
    Verdict,
)

from ..leadcrm.factories import AgentFactory, BrokerFactory
from ..leads.factories import LeadFactory

# A number no PhoneFactory hands out, for evidence made without a phone.
EVIDENCE_NUMBERS = factory.Sequence(lambda n: f"+1918555{3000 + n % 1000:04d}")


def days_ago(days):
    return factory.LazyFunction(lambda: timezone.localdate() - timedelta(days=days))


class DncSourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DncSource

    name = factory.Sequence(lambda n: f"Registry {n}")
    kind = RegistryKind.NATIONAL
    subscription_account_number = "SAN-TEST-1"
    subscription_expires_on = factory.LazyFunction(lambda: timezone.now().date() + timedelta(days=365))
    data_as_of = factory.LazyFunction(lambda: timezone.now().date())


class RegistryLoadFactory(factory.django.DjangoModelFactory):
    """A registry file as queued (the loader is not run)."""

    class Meta:
        model = RegistryLoad

    source = factory.SubFactory(DncSourceFactory)
    version_date = days_ago(1)


class ComplianceCheckFactory(factory.django.DjangoModelFactory):
    """A check as the gate records it for a logged call that was allowed.

    ``fired=[(rule, severity), ...]`` (or ``(rule, severity, reason)``) gives the findings
    and the rules that fired, as the gate writes them.
    """

    class Meta:
        model = ComplianceCheck

    class Params:
        fired = ()

    lead = factory.SubFactory(LeadFactory)
    actor = factory.SelfAttribute("lead.assigned_agent")
    channel = Channel.CALL
    purpose = Purpose.LISTING
    contact_point = "+19185550104"
    mode = CheckMode.LOG
    verdict = Verdict.ALLOW
    rule_ids = factory.LazyAttribute(lambda check: sorted({rule for rule, *_ in check.fired}))
    findings = factory.LazyAttribute(lambda check: [
        {"rule": rule, "severity": severity, "reason": reason[0] if reason else "..."}
        for rule, severity, *reason in check.fired
    ])


class ConsentRecordFactory(factory.django.DjangoModelFactory):
    """Written consent to texts from the number (``phone=``), obtained today."""

    class Meta:
        model = ConsentRecord

    class Params:
        phone = None

    phone_number = factory.Maybe("phone", factory.SelfAttribute("phone.number"), EVIDENCE_NUMBERS)
    lead = factory.Maybe("phone", factory.SelfAttribute("phone.contact.lead"), factory.SubFactory(LeadFactory))
    obtained_at = factory.LazyFunction(timezone.now)
    method = "signed form"
    consent_text = "I agree to calls and texts from Sunbelt about selling my home."
    recorded_by = factory.SelfAttribute("lead.assigned_agent")


class ReassignedNumberCheckFactory(factory.django.DjangoModelFactory):
    """The reassigned numbers database's "no" for the number (``phone=``), asked today by its lead's agent."""

    class Meta:
        model = ReassignedNumberCheck

    class Params:
        phone = None

    phone_number = factory.Maybe("phone", factory.SelfAttribute("phone.number"), EVIDENCE_NUMBERS)
    lead = factory.Maybe("phone", factory.SelfAttribute("phone.contact.lead"), None)
    consent_date = days_ago(30)
    queried_at = factory.LazyFunction(timezone.now)
    result = RndResult.NO
    recorded_by = factory.Maybe("phone", factory.SelfAttribute("phone.contact.lead.assigned_agent"),
                                factory.SubFactory(AgentFactory))


class EstablishedRelationshipFactory(factory.django.DjangoModelFactory):
    """An inquiry from the number (``phone=``) a month ago, with the brokerage."""

    class Meta:
        model = EstablishedRelationship

    class Params:
        phone = None

    phone_number = factory.Maybe("phone", factory.SelfAttribute("phone.number"), EVIDENCE_NUMBERS)
    lead = factory.Maybe("phone", factory.SelfAttribute("phone.contact.lead"), factory.SubFactory(LeadFactory))
    kind = RelationshipKind.INQUIRY
    started_on = days_ago(30)
    evidence = "Web form: 'What can I get for my house?'"
    recorded_by = factory.SelfAttribute("lead.assigned_agent")


class InterestDisclosureFactory(factory.django.DjangoModelFactory):
    """The lead's agent's written disclosure, given today, that they would buy for themselves."""

    class Meta:
        model = InterestDisclosure

    lead = factory.SubFactory(LeadFactory)
    principal = factory.SelfAttribute("lead.assigned_agent")
    disclosed_on = factory.LazyFunction(timezone.localdate)
    document_text = "I am a licensed agent buying for myself."
    recorded_by = factory.SelfAttribute("principal")


class RevocationReviewFactory(factory.django.DjangoModelFactory):
    """A reply that might mean "stop", waiting for a broker's decision."""

    class Meta:
        model = RevocationReview

    lead = factory.SubFactory(LeadFactory)
    phone_number = EVIDENCE_NUMBERS
    text = "no mas por favor"
    matched = "no mas"
    raised_by = factory.SelfAttribute("lead.assigned_agent")


class StateCallingRuleFactory(factory.django.DjangoModelFactory):
    """A version of a state's calling window, in force from today."""

    class Meta:
        model = StateCallingRule

    state = "OK"
    effective_from = factory.LazyFunction(timezone.localdate)
    window_start = time(8)
    window_end = time(21)


class RuleParameterFactory(factory.django.DjangoModelFactory):
    """A version of one of a rule's numbers, in force from today."""

    class Meta:
        model = RuleParameter

    rule = "D1"
    key = "window_end_hour"
    value = 21
    effective_from = factory.LazyFunction(timezone.localdate)


class EvidenceFileFactory(factory.django.DjangoModelFactory):
    """A proof's row (the bytes are not written: for tests of lists and permissions)."""

    class Meta:
        model = EvidenceFile

    lead = factory.SubFactory(LeadFactory)
    stored_file = factory.Sequence(lambda n: f"evidence/2026/11/{n:032x}.pdf")
    original_name = "signed-consent.pdf"
    content_type = "application/pdf"
    size = 1024
    sha256 = "0" * 64
    uploaded_by = factory.SelfAttribute("lead.assigned_agent")


class EvidenceRevocationFactory(factory.django.DjangoModelFactory):
    """A broker's revocation of a consent (pass ``relationship=`` ... for another kind, with ``consent=None``)."""

    class Meta:
        model = EvidenceRevocation

    consent = factory.SubFactory(ConsentRecordFactory)
    lead = factory.LazyAttribute(lambda row: next(
        getattr(row, name).lead for name in EvidenceRevocation.RECORD_FIELDS if getattr(row, name, None)))
    reason = "Entered on the wrong lead."
    revoked_by = factory.SubFactory(BrokerFactory)
