"""Registries, the internal do-not-contact list, and the evidence of every check.

Rule IDs (A4, B1, D3, ...) are those of ``compliance/rules.py``, explained on the rules page
and in docs/compliance-rules.md.
"""

from __future__ import annotations

import re
from datetime import date, time, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from leadcrm.accounts.models import US_STATES
from leadcrm.shared.append_only import AppendOnlyModel, AppendOnlyQuerySet
from leads.models import e164_validator
from leads.querysets import RelatedToLeadQuerySet

from .words import BUILT_IN_START, STATUTORY_STOP


class Channel(models.TextChoices):
    CALL = "call", "Phone call"
    SMS = "sms", "Text message"
    EMAIL = "email", "Email"
    MAIL = "mail", "Mail"
    DOOR = "door", "Door knock"


PHONE_CHANNELS = frozenset({Channel.CALL, Channel.SMS})


class Purpose(models.TextChoices):
    """Why the agent reaches out; telemarketing rules apply to every listing solicitation (C3)."""

    LISTING = "short_sale_listing", "Short-sale listing"
    FOLLOW_UP = "follow_up", "Follow-up with the homeowner"
    OFFER_TO_BUY = "offer_to_buy", "Offer to buy (as principal)"
    REVOCATION_CONFIRMATION = "revocation_confirmation", "Confirm a stop request (one text, no marketing)"


class Technology(models.TextChoices):
    """How a call or text is placed; automated ones need prior express written consent (D4, D5)."""

    MANUAL = "manual", "Dialled by hand, one at a time"
    AUTODIALER = "autodialer", "Autodialer or automated selection of numbers"
    PRERECORDED = "prerecorded", "Prerecorded, artificial or AI voice"


AUTOMATED = frozenset({Technology.AUTODIALER, Technology.PRERECORDED})


class Direction(models.TextChoices):
    OUTBOUND = "outbound", "Outbound"
    INBOUND = "inbound", "Inbound"


class Verdict(models.TextChoices):
    ALLOW = "allow", "Allowed"
    WARN = "warn", "Allowed with a warning"
    BLOCK = "block", "Blocked"


class CheckMode(models.TextChoices):
    PREVIEW = "preview", "Live verdict before logging"
    LOG = "log", "Checked to log an attempt"


# Registries ----------------------------------------------------------------------------


class RegistryKind(models.TextChoices):
    NATIONAL = "national", "National Do Not Call Registry"
    STATE = "state", "State do-not-call list"
    LITIGATOR = "litigator", "Litigator list"


class DncSource(models.Model):
    """A registry the brokerage holds data from, loaded under its own account (A1)."""

    kind = models.CharField(max_length=10, choices=RegistryKind.choices)
    name = models.CharField(max_length=120, unique=True)
    state = models.CharField(max_length=2, choices=US_STATES, blank=True)
    subscription_account_number = models.CharField(
        "subscription account number (SAN)", max_length=40, blank=True,
        help_text="The brokerage's own account with the registry; data is never shared (A1).",
    )
    subscription_expires_on = models.DateField(
        null=True, blank=True,
        help_text="Subscriptions last 12 months (A1); phone outreach blocks once it lapses.",
    )
    data_as_of = models.DateField(
        null=True, blank=True, help_text="Version date of the newest file loaded."
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "DNC source"
        ordering = ["kind", "name"]
        permissions = [("manage_registries", "Can load and manage Do Not Call registries")]

    def __str__(self) -> str:
        return self.name


AREA_CODE_SPAN = 10_000_000  # a ten-digit NANP number // this = its area code
SOURCE_SPAN = 1000  # a DncNumber key = number * SOURCE_SPAN + source id


class DncNumberQuerySet(models.QuerySet):
    def for_number(self, number: int) -> DncNumberQuerySet:
        return self.filter(id__gte=number * SOURCE_SPAN, id__lt=(number + 1) * SOURCE_SPAN)

    def for_numbers(self, numbers) -> DncNumberQuerySet:
        ranges = [models.Q(id__gte=n * SOURCE_SPAN, id__lt=(n + 1) * SOURCE_SPAN) for n in numbers]
        if not ranges:
            return self.none()
        query = ranges[0]
        for extra in ranges[1:]:
            query |= extra
        return self.filter(query)


class DncNumber(models.Model):
    """One number on one registry.

    The key is the ten-digit NANP number times 1000 plus the registry's id, so one
    index (the primary key) serves uniqueness, lookups by number (a range of keys) and
    the area codes a full list replaces (a larger range). A load of two million numbers
    is then a single COPY of the file's own lines with three digits appended, and one
    index build. ``number`` is derived from the key.
    """

    id = models.BigIntegerField(primary_key=True)
    # No database-level foreign key and no index of its own: both would cost on each of
    # millions of copied rows. Django still cascades deletes of a source; loads only
    # write known sources; lookups go by key.
    source = models.ForeignKey(
        DncSource, on_delete=models.CASCADE, related_name="numbers", db_constraint=False, db_index=False
    )
    added_on = models.DateField(null=True, blank=True)

    objects = DncNumberQuerySet.as_manager()

    class Meta:
        verbose_name = "DNC number"

    def __str__(self) -> str:
        return f"{self.e164} ({self.source_id})"

    @classmethod
    def key(cls, number: int, source_id: int) -> int:
        if not 0 < source_id < SOURCE_SPAN:
            raise ValueError(f"registry id {source_id} does not fit the number key")
        return number * SOURCE_SPAN + source_id

    @classmethod
    def for_source(cls, source, number: int, **fields) -> DncNumber:
        return cls(id=cls.key(number, source.pk), source=source, **fields)

    @property
    def number(self) -> int:
        return self.id // SOURCE_SPAN

    @property
    def area_code(self) -> str:
        return str(self.number // AREA_CODE_SPAN)

    @property
    def e164(self) -> str:
        return f"+1{self.number}"


def national_number(e164: str) -> int | None:
    """``'+19185550104'`` -> ``9185550104``; None for a number outside the NANP."""
    if len(e164) == 12 and e164.startswith("+1") and e164[2:].isdigit():
        return int(e164[2:])
    return None


class LoadKind(models.TextChoices):
    FULL = "full", "Full list (replaces the area codes it covers)"
    CHANGE = "change", "Change list (adds and deletes)"


class LoadStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    READING = "reading", "Reading the file"
    WRITING = "writing", "Writing the numbers"
    DONE = "done", "Loaded"
    REJECTED = "rejected", "Rejected"


REGISTRY_STALLED_AFTER = timedelta(minutes=1)


class RegistryLoad(models.Model):
    """One registry file, as uploaded and loaded: the version the gate's evidence names (A2, A3)."""

    source = models.ForeignKey(DncSource, on_delete=models.PROTECT, related_name="loads")
    kind = models.CharField(max_length=8, choices=LoadKind.choices, default=LoadKind.FULL)
    version_date = models.DateField(help_text="The registry's version date of this file (A3).")
    subscription_account_number = models.CharField(max_length=40, blank=True)
    subscription_expires_on = models.DateField(null=True, blank=True)
    file_name = models.CharField(max_length=255, blank=True)
    stored_file = models.CharField(max_length=255, blank=True, editable=False,
                                   help_text="Name in the default storage of the uploaded file.")
    area_codes = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=10, choices=LoadStatus.choices, default=LoadStatus.QUEUED)
    lines_total = models.PositiveIntegerField(default=0)
    lines_done = models.PositiveIntegerField(default=0)
    numbers_added = models.PositiveIntegerField(default=0)
    numbers_removed = models.PositiveIntegerField(default=0)
    phones_reflagged = models.PositiveIntegerField(
        default=0, help_text="Phones whose do-not-call flag this load turned on or off.")
    errors = models.JSONField(default=list, blank=True, help_text="Why the file was rejected, by line.")
    loaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Last sign of life of the worker loading it (every 15 s while it runs).")
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text="Runs started; one more than LEADCRM_JOB_MAX_ATTEMPTS and it is stopped as rejected.")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.source} {self.get_kind_display().split(' ')[0].lower()} list of {self.version_date}"

    @property
    def is_stalled(self) -> bool:
        """Reading or writing, but silent for a minute: its worker died, and nothing it did
        was kept (the write is one transaction). Resumed by the sweep or a worker starting
        (docs/architecture.md#prompt-recovery)."""
        if self.status not in (LoadStatus.READING, LoadStatus.WRITING):
            return False
        last = self.heartbeat_at or self.started_at or self.created_at
        return last < timezone.now() - REGISTRY_STALLED_AFTER

    @property
    def is_finished(self) -> bool:
        return self.status in (LoadStatus.DONE, LoadStatus.REJECTED)

    @property
    def percent(self) -> int:
        if self.status == LoadStatus.DONE:
            return 100
        if not self.lines_total:
            return 0
        # Reading is the first 80 %; writing happens in one transaction at the end.
        share = 80 if self.status == LoadStatus.READING else 95
        return min(share, int(self.lines_done * share / self.lines_total))


class AreaCodeVersion(models.Model):
    """The registry data held for one area code, as of one version date (A3).

    Kept for every load, so a check can say which version it used on the call date.
    """

    source = models.ForeignKey(DncSource, on_delete=models.CASCADE, related_name="area_code_versions")
    area_code = models.CharField(max_length=3)
    version_date = models.DateField()
    load = models.ForeignKey(RegistryLoad, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["area_code", "-version_date"]
        indexes = [
            models.Index(fields=["area_code", "source", "-version_date"], name="area_code_version_lookup"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["source", "area_code", "version_date"], name="area_code_version_once"),
        ]

    def __str__(self) -> str:
        return f"{self.area_code} as of {self.version_date} ({self.source})"


class StopOrigin(models.TextChoices):
    """Where a stop request came from, beyond its channel: whether a START can ever lift it (B4)."""

    TEXT_REPLY = "text_reply", "Texted by the homeowner from this number"
    REVIEW = "review", "A reply a person decided on review was a stop"
    WHOLE_CONTACT = "whole_contact", "Asked not to be contacted at all"
    # The homeowner's stop on one number or address covers all of theirs (B1): the entries
    # written for the others, naming the one it came on (``stopped_on``).
    COVERED = "covered", "Covered by the homeowner's stop on another of their numbers or addresses"
    OTHER = "", "Said on a call, at the door, by email or mail, or entered by hand"


class InternalDncEntry(AppendOnlyModel):
    """A homeowner asked us to stop: applies at once, to every agent, forever (B1, B2).

    One entry suppresses one contact point: a phone number (calls and texts), an email
    address, or a postal address (letters to it, knocks on its door), keyed like
    ``leads.addresses.address_key``. Keeps who recorded it, when, through which channel,
    and the homeowner's exact words. Nothing ever edits or removes an entry.
    """

    phone_number = models.CharField(max_length=16, blank=True, validators=[e164_validator], db_index=True)
    email = models.EmailField(blank=True, db_index=True)
    postal_address = models.CharField(
        max_length=200, blank=True, db_index=True,
        help_text="Normalised address key: no mail to it, no knocks on its door.",
    )
    channel = models.CharField(
        max_length=8, choices=Channel.choices, help_text="How the request reached us."
    )
    homeowner_words = models.TextField(help_text="What the homeowner said, word for word.")
    origin = models.CharField(
        max_length=16, choices=StopOrigin.choices, default=StopOrigin.OTHER, blank=True,
        help_text="Only a stop the homeowner texted from this number can be lifted, for texts alone, by a "
                  "START they text from it later (B4).",
    )
    stopped_on = models.CharField(
        max_length=254, blank=True,
        help_text="A covering entry's: the number or address the homeowner's stop came on.",
    )
    requested_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    lead = models.ForeignKey(
        "leads.Lead", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "internal do-not-contact entry"
        verbose_name_plural = "internal do-not-contact list"
        ordering = ["-requested_at"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(phone_number="", email="", postal_address=""),
                name="internal_dnc_has_a_contact_point",
            ),
        ]

    def __str__(self) -> str:
        return self.phone_number or self.email or self.postal_address


class TextResubscription(AppendOnlyModel):
    """The homeowner texted START (or UNSTOP) from a number: texts only, and only where the
    rules allow (B4; docs/compliance-rules.md#b4-start).

    The internal list is never edited (B2): this row, appended beside it, lets the gate pass
    texts to the number when every entry for it is a stop the homeowner texted from that
    number before this row's ``received_at``. Calls, emails, and any other stop stay blocked.
    """

    phone_number = models.CharField(max_length=16, validators=[e164_validator], db_index=True)
    words = models.CharField(max_length=160, help_text="The keyword as texted (START, UNSTOP).")
    received_at = models.DateTimeField()
    lead = models.ForeignKey(
        "leads.Lead", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        help_text="The lead the number was matched to; empty for a text that waited in the inbox.",
    )
    # The inbound message's id (pipeline's Message): a plain number, since compliance never
    # reads the pipeline; unique, so a replayed webhook records the START once.
    message_id = models.PositiveBigIntegerField(null=True, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["message_id"], condition=models.Q(message_id__isnull=False),
                                    name="text_resubscription_once_per_message"),
        ]

    def __str__(self) -> str:
        return f"START from {self.phone_number} on {self.received_at:%Y-%m-%d}"


class AgentListSource(models.TextChoices):
    """How a number came onto one agent's own do-not-call list (B3)."""

    STOP = "stop", "A stop made to this agent"
    OWN_LIST = "own_list", "The agent's own list, brought from elsewhere"


class AgentDncEntry(AppendOnlyModel):
    """One number or email on one agent's own do-not-call list (B3, Washington).

    Washington treats each agent who keeps a separate list as a company of its own
    (docs/compliance-rules.md#b3): on top of the brokerage's list (B1), a stop made to an
    agent goes on that agent's list too, and the agent may add their own (a list brought
    from another brokerage). When Washington applies, the gate refuses the agent a number
    on it even when nothing on the brokerage's list does. Nothing the brokerage does (a
    START, a revocation) lifts an entry: it is never edited or removed; a stop's entry
    blocks for ``B3 agent_list_days`` after the stop, an entry the agent added for good.
    """

    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    phone_number = models.CharField(max_length=16, blank=True, validators=[e164_validator])
    email = models.EmailField(blank=True)
    source = models.CharField(max_length=10, choices=AgentListSource.choices)
    note = models.CharField(
        max_length=200, blank=True,
        help_text="Where the agent's own list came from (e.g. the brokerage they kept it at); a stop's words "
                  "stay on the brokerage's entry.",
    )
    requested_at = models.DateTimeField(default=timezone.now, help_text="When the stop was made, or the entry added.")
    # The brokerage's entry the stop was written as: the homeowner's words are kept there.
    stop = models.ForeignKey(InternalDncEntry, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    lead = models.ForeignKey("leads.Lead", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "agent do-not-call entry"
        verbose_name_plural = "agents' own do-not-call lists"
        ordering = ["-requested_at", "-pk"]
        # The gate's one lookup (B3): this agent, this number or address.
        indexes = [
            models.Index(fields=["agent", "phone_number"], name="agent_dnc_number"),
            models.Index(fields=["agent", "email"], name="agent_dnc_email"),
        ]
        constraints = [
            models.CheckConstraint(condition=~models.Q(phone_number="", email=""),
                                   name="agent_dnc_has_a_contact_point"),
        ]

    def __str__(self) -> str:
        return f"{self.phone_number or self.email} on {self.agent}'s list"


# Evidence ------------------------------------------------------------------------------


class EvidenceQuerySet(AppendOnlyQuerySet, RelatedToLeadQuerySet):
    """Append-only rows about a lead, seen through the lead's visibility."""


class RevocableEvidenceQuerySet(EvidenceQuerySet):
    """Consent, relationships, number checks and disclosures: a broker may revoke one."""

    def not_revoked(self):
        """Only the records no broker has revoked: what the gate and every rule may rely on.

        A revocation says the record is not valid evidence at all (wrong number, forged,
        entered by mistake), so it counts whatever the date of the check
        (docs/compliance-rules.md#evidence)."""
        return self.filter(revocation__isnull=True)


def rules_that_decided(verdict: str, rule_ids: list[str], findings: list[dict]) -> list[str]:
    """The rules a check is counted under: those whose findings carry its verdict's
    severity (a call blocked by A5 that also drew an F6 warning is a block by A5); none
    for an allowed check; the rules that fired when it has no findings to tell. The
    reports' rollup keys its counts by the same (``pipeline_check_rules`` in SQL)."""
    if verdict == Verdict.ALLOW:
        return []
    decided = sorted({finding.get("rule") for finding in findings or []
                      if isinstance(finding, dict) and finding.get("severity") == verdict})
    return decided or list(rule_ids or [])


class ComplianceCheckQuerySet(EvidenceQuerySet):
    def of_attempts(self) -> ComplianceCheckQuerySet:
        """The decisions on real attempts to contact someone: what every count and export of
        checks reads. Earlier versions also stored the live verdict shown while the outreach
        form was filled in (``mode=preview``, refused under D3 until the disclosure box was
        ticked); those rows stay, since checks are never deleted, but decided nothing."""
        return self.filter(mode=CheckMode.LOG)


class ComplianceCheck(AppendOnlyModel):
    """One run of the outreach gate, allowed or not: the brokerage's safe-harbour evidence."""

    checked_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    lead = models.ForeignKey(
        "leads.Lead", on_delete=models.PROTECT, related_name="compliance_checks"
    )
    channel = models.CharField(max_length=8, choices=Channel.choices)
    purpose = models.CharField(max_length=24, choices=Purpose.choices)
    technology = models.CharField(max_length=12, choices=Technology.choices, default=Technology.MANUAL)
    direction = models.CharField(max_length=8, choices=Direction.choices, default=Direction.OUTBOUND)
    contact_point = models.CharField(
        max_length=200, blank=True, help_text="The number, address or email checked."
    )
    mode = models.CharField(max_length=8, choices=CheckMode.choices)
    verdict = models.CharField(max_length=6, choices=Verdict.choices)
    rule_ids = models.JSONField(default=list, blank=True, help_text="Rules that fired.")
    findings = models.JSONField(default=list, blank=True, help_text="Rule, severity and reason for each.")
    evidence = models.JSONField(default=dict, blank=True)

    objects = ComplianceCheckQuerySet.as_manager()

    class Meta:
        ordering = ["-checked_at"]
        indexes = [
            models.Index(fields=["contact_point", "checked_at"], name="check_contact_point_time"),
        ]

    def __str__(self) -> str:
        return f"{self.get_verdict_display()}: {self.get_channel_display()} {self.contact_point}"


# Rules as data ---------------------------------------------------------------------------
# Every number a rule uses lives in a versioned table a broker can edit, seeded by the
# migrations (docs/compliance-rules.md says which rule uses which); the row in force on
# the call date applies.


class Versioned(models.Model):
    effective_from = models.DateField(default=date(2000, 1, 1))
    effective_to = models.DateField(null=True, blank=True, help_text="Last day in force; empty: still in force.")
    source = models.CharField(max_length=255, blank=True, help_text="Statute, regulation or other source.")
    verified = models.BooleanField(
        default=True,
        help_text="Unticked: not yet confirmed against a primary source; applied anyway (fail closed).",
    )
    is_active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    def in_force(self, on: date) -> bool:
        return self.is_active and self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)


class RuleParameter(Versioned):
    """A number one rule uses, e.g. A3 ``max_age_days`` = 31."""

    rule = models.CharField(max_length=8)
    key = models.CharField(max_length=40)
    value = models.DecimalField(max_digits=12, decimal_places=2)
    description = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["rule", "key", "-effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "key", "effective_from"], name="rule_parameter_version_once"),
        ]

    def __str__(self) -> str:
        return f"{self.rule} {self.key} = {self.value.normalize():f}"


class StateCallingRule(Versioned):
    """One state's calling rules (table E): window, days, holidays, caps, registration."""

    state = models.CharField(max_length=2, choices=US_STATES)
    window_start = models.TimeField(help_text="Earliest call, recipient's local time.")
    window_end = models.TimeField(help_text="Calls must end before this, recipient's local time.")
    sunday_start = models.TimeField(null=True, blank=True, help_text="Sunday window, when different (TX).")
    sunday_end = models.TimeField(null=True, blank=True)
    no_sunday = models.BooleanField(default=False)
    no_holidays = models.BooleanField(default=False, help_text="No calls on the state's holidays (E3).")
    frequency_cap = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Attempts per number per rolling window (E2)."
    )
    cap_counts_texts = models.BooleanField(default=False, help_text="Texts count toward the cap (MD).")
    cap_window_hours = models.PositiveSmallIntegerField(
        null=True, blank=True,
        help_text="The cap's rolling window in hours (ME: 8); empty: the E2 cap_window_hours parameter (24).",
    )
    cap_automated_only = models.BooleanField(
        default=False,
        help_text="The cap limits and counts only autodialed or prerecorded calls (ME); manual calls and "
                  "texts are neither capped nor counted.",
    )
    area_code_presumption = models.BooleanField(
        default=False, help_text="A number with this state's area code is presumed a resident's (FL, OK)."
    )
    registration_required = models.BooleanField(
        default=False, help_text="Phone outreach needs a state registration or exemption (TX, E4)."
    )
    registration_covers_texts = models.BooleanField(
        default=False, help_text="Texts count as solicitations for the registration (TX from 2025-09-01)."
    )
    ebr_purchase_months = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="State limit on the purchase EBR, when shorter than federal (C2)."
    )

    class Meta:
        ordering = ["state", "-effective_from"]

    def __str__(self) -> str:
        return f"{self.state} calling rules"

    def window_on(self, weekday: int) -> tuple[time, time] | None:
        """The window on a weekday (Monday 0); None when no calls that day."""
        if weekday == 6:
            if self.no_sunday:
                return None
            if self.sunday_start:
                return self.sunday_start, self.sunday_end or self.window_end
        return self.window_start, self.window_end


class HolidayChange(models.TextChoices):
    ADDED = "added", "A holiday the calendar lacks"
    NOT_OBSERVED = "not_observed", "A day of the calendar the state does not observe"


class StateHoliday(Versioned):
    """The brokerage's change to a state's holiday calendar (E3), which is otherwise computed
    by rule for any year (``compliance.calendars``): a day added (a holiday newly declared,
    a day counsel reads into the statute) or a computed day taken away. In force, like every
    rule table, from ``effective_from``: a check is judged by the calendar of its own day."""

    state = models.CharField(max_length=2, choices=US_STATES)
    observed_on = models.DateField()
    name = models.CharField(max_length=120)
    change = models.CharField(max_length=12, choices=HolidayChange.choices, default=HolidayChange.ADDED)

    class Meta:
        ordering = ["state", "observed_on"]
        constraints = [
            models.UniqueConstraint(fields=["state", "observed_on", "name"], name="state_holiday_once"),
        ]

    def __str__(self) -> str:
        taken = " (not observed)" if self.change == HolidayChange.NOT_OBSERVED else ""
        return f"{self.state} {self.observed_on}: {self.name}{taken}"


# Consent, relationships, disclosures ----------------------------------------------------


class EvidenceFile(AppendOnlyModel):
    """A signed form, a screenshot, a signed disclosure: the proof behind a record of a lead.

    Stored under our own name in the default storage (outside the web root), served only
    to users who may see the lead, never rewritten.
    """

    lead = models.ForeignKey("leads.Lead", on_delete=models.PROTECT, related_name="+")
    stored_file = models.CharField(max_length=255, editable=False, help_text="Name in the default storage.")
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=60)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    objects = EvidenceQuerySet.as_manager()

    class Meta:
        ordering = ["-uploaded_at", "-pk"]

    def __str__(self) -> str:
        return self.original_name


class ConsentRecord(AppendOnlyModel):
    """Prior express written consent for one number (D4, D5): signed, naming the number."""

    phone_number = models.CharField(max_length=16, validators=[e164_validator], db_index=True)
    lead = models.ForeignKey("leads.Lead", on_delete=models.PROTECT, related_name="+")
    obtained_at = models.DateTimeField()
    covers_sms = models.BooleanField(default=True)
    covers_autodialer = models.BooleanField(default=False)
    covers_prerecorded = models.BooleanField(default=False, help_text="Prerecorded, artificial or AI voice.")
    method = models.CharField(max_length=120, help_text="Signed form, e-sign, web form with checkbox ...")
    consent_text = models.TextField(help_text="The words the homeowner agreed to.")
    # The proof: a file, or the inbound message it came in on, or both. The message is
    # named by its gate check (every logged message has one, linked one to one to its
    # outreach log entry), a row of this app: compliance never reads the outreach log.
    proof_file = models.ForeignKey(
        EvidenceFile, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        help_text="The signed form or a capture of the consent.",
    )
    # The check table is partitioned by month on PostgreSQL, so no foreign key can point into
    # it (docs/database.md#partitions).
    proof_message = models.ForeignKey(
        "ComplianceCheck", on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_constraint=False,
        help_text="The check of the inbound message the consent came in on.",
    )
    proof_note = models.TextField(blank=True, help_text="What the message said, or where the original is kept.")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RevocableEvidenceQuerySet.as_manager()

    class Meta:
        ordering = ["-obtained_at"]
        permissions = [
            ("record_evidence", "Can record consent, relationships, number checks and disclosures of a lead"),
        ]

    def __str__(self) -> str:
        return f"Consent for {self.phone_number} of {self.obtained_at:%Y-%m-%d}"


class RndResult(models.TextChoices):
    YES = "yes", "Yes: permanently disconnected after the consent date"
    NO = "no", "No"
    NO_DATA = "no_data", "No data"


class ReassignedNumberCheck(AppendOnlyModel):
    """A Reassigned Numbers Database query and its answer for one consented number (D7)."""

    phone_number = models.CharField(max_length=16, validators=[e164_validator], db_index=True)
    # The lead it was recorded on (empty on older rows): the gate reads checks by number.
    lead = models.ForeignKey("leads.Lead", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    consent_date = models.DateField(help_text="The date of consent asked about.")
    queried_at = models.DateTimeField()
    result = models.CharField(max_length=8, choices=RndResult.choices)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    objects = RevocableEvidenceQuerySet.as_manager()

    class Meta:
        ordering = ["-queried_at"]

    def __str__(self) -> str:
        return f"RND {self.phone_number}: {self.result}"


class RelationshipKind(models.TextChoices):
    INQUIRY = "inquiry", "Inquiry or application (3 months)"
    TRANSACTION = "transaction", "Purchase, delivery or payment (18 months)"


class EstablishedRelationship(AppendOnlyModel):
    """An established business relationship of the brokerage itself with the homeowner (C1).

    Only the brokerage's own: a list vendor's relationship never transfers, and a
    purchased pre-foreclosure list carries none.
    """

    phone_number = models.CharField(max_length=16, validators=[e164_validator], db_index=True)
    lead = models.ForeignKey("leads.Lead", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=12, choices=RelationshipKind.choices)
    started_on = models.DateField(help_text="Date of the inquiry, or of the last purchase or payment.")
    formed_with_brokerage = models.BooleanField(
        default=True,
        help_text="Unticked: a list vendor's or another company's relationship, kept for the record. "
                  "It never allows a call: relationships do not transfer (C1).",
    )
    evidence = models.TextField(help_text="What shows it: the web form, the signed agreement ...")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RevocableEvidenceQuerySet.as_manager()

    class Meta:
        ordering = ["-started_on"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.started_on}"


class InterestDisclosure(AppendOnlyModel):
    """A principal's written licensee-status and interest disclosure to a homeowner (F8)."""

    lead = models.ForeignKey("leads.Lead", on_delete=models.PROTECT, related_name="+")
    principal = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    disclosed_on = models.DateField()
    document_text = models.TextField(help_text="The disclosure as given to the homeowner.")
    signed_document = models.ForeignKey(
        EvidenceFile, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        help_text="The disclosure as signed by the homeowner.",
    )
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RevocableEvidenceQuerySet.as_manager()

    class Meta:
        ordering = ["-disclosed_on"]

    def __str__(self) -> str:
        return f"Interest disclosure by {self.principal} of {self.disclosed_on}"


class EvidenceRevocation(AppendOnlyModel):
    """A broker's word that a record is not valid evidence: wrong number, forged, a mistake.

    Not the homeowner's "stop" (that is the internal list, B1). The record stays as it
    was; this row, appended beside it, makes every rule ignore it. One nullable key per
    kind of record rather than a generic relation: the database keeps each key real
    (no revocation of a row that does not exist), one-to-one (revoked once), and the
    gate's ``not_revoked()`` is a plain join.
    """

    lead = models.ForeignKey("leads.Lead", on_delete=models.PROTECT, related_name="+")
    consent = models.OneToOneField(ConsentRecord, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="revocation")
    relationship = models.OneToOneField(EstablishedRelationship, on_delete=models.PROTECT, null=True, blank=True,
                                        related_name="revocation")
    number_check = models.OneToOneField(ReassignedNumberCheck, on_delete=models.PROTECT, null=True, blank=True,
                                        related_name="revocation")
    disclosure = models.OneToOneField(InterestDisclosure, on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="revocation")
    reason = models.TextField(help_text="Why the record is not valid evidence.")
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    revoked_at = models.DateTimeField(default=timezone.now)

    objects = EvidenceQuerySet.as_manager()

    RECORD_FIELDS = ("consent", "relationship", "number_check", "disclosure")

    class Meta:
        ordering = ["-revoked_at"]
        permissions = [("revoke_evidence", "Can revoke a consent, relationship, number check or disclosure")]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(consent__isnull=False, relationship__isnull=True, number_check__isnull=True,
                             disclosure__isnull=True)
                    | models.Q(consent__isnull=True, relationship__isnull=False, number_check__isnull=True,
                               disclosure__isnull=True)
                    | models.Q(consent__isnull=True, relationship__isnull=True, number_check__isnull=False,
                               disclosure__isnull=True)
                    | models.Q(consent__isnull=True, relationship__isnull=True, number_check__isnull=True,
                               disclosure__isnull=False)
                ),
                name="evidence_revocation_names_one_record",
            ),
        ]

    def __str__(self) -> str:
        return f"Revocation of {self.record} by {self.revoked_by}"

    @property
    def record(self):
        return next(getattr(self, name) for name in self.RECORD_FIELDS if getattr(self, f"{name}_id"))


class TerminationShownBy(models.TextChoices):
    """What shows a relationship ended (C2): a code, so the record holds none of the
    homeowner's own words for an erasure to reach."""

    HOMEOWNER_NOTICE = "homeowner_notice", "The homeowner's written notice ending it"
    BROKERAGE_NOTICE = "brokerage_notice", "The brokerage's written notice ending it"
    AGREEMENT_ENDED = "agreement_ended", "The agreement ended on its terms (expired, cancelled, closed)"
    SAID = "said", "The homeowner said so (on a call, at the door, by text or email), logged on the lead"


class RelationshipTermination(AppendOnlyModel):
    """The day an established business relationship ended (C1, C2).

    Appended beside the relationship, which is never edited (like ``EvidenceRevocation``);
    one per relationship. Outside Texas a terminated relationship allows no call from its
    termination on; on the Texas list it still counts until the later of a year after and
    the first Texas list naming the number after it (docs/compliance-rules.md#c2).
    """

    relationship = models.OneToOneField(EstablishedRelationship, on_delete=models.PROTECT,
                                        related_name="termination")
    lead = models.ForeignKey("leads.Lead", on_delete=models.PROTECT, related_name="+")
    terminated_on = models.DateField(help_text="The day the relationship ended.")
    shown_by = models.CharField(max_length=20, choices=TerminationShownBy.choices,
                                help_text="What shows it ended.")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    objects = EvidenceQuerySet.as_manager()

    class Meta:
        ordering = ["-terminated_on"]

    def __str__(self) -> str:
        return f"{self.relationship} ended {self.terminated_on}"


# Safe harbor: written procedures and training (A4) --------------------------------------------


POLICY_MIN_CHARS = 200
POLICY_TOO_SHORT = (
    "Write out the procedures (at least {min} characters): what agents check before a call and how a "
    "stop request is recorded."
)
POLICY_FUTURE = "Procedures take effect today at the latest; publish a later version on its day."


class DncPolicyQuerySet(AppendOnlyQuerySet):
    def in_force(self, on: date) -> DncPolicy | None:
        """The version in force on a day: the latest adopted on or before it."""
        return self.filter(adopted_on__lte=on).order_by("-adopted_on", "-created_at", "-id").first()


class DncPolicy(AppendOnlyModel):
    """One version of the brokerage's written Do Not Call procedures (A4, 310.4(b)(3)(i)).

    A new version is a new row; agents acknowledge each version before they call again.
    """

    objects = DncPolicyQuerySet.as_manager()

    title = models.CharField(max_length=120, default="Do Not Call and calling-practice procedures")
    text = models.TextField(help_text="The written procedures agents are trained on and follow.")
    adopted_on = models.DateField(help_text="The day these procedures took effect.")
    adopted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "DNC policy version"

    def __str__(self) -> str:
        return f"{self.title} (adopted {self.adopted_on:%b %d, %Y})"

    def clean(self) -> None:
        # Here rather than in a service, so the admin's add form checks the same.
        super().clean()
        errors = {}
        if len((self.text or "").strip()) < POLICY_MIN_CHARS:
            errors["text"] = POLICY_TOO_SHORT.format(min=POLICY_MIN_CHARS)
        if self.adopted_on and self.adopted_on > timezone.localdate():
            errors["adopted_on"] = POLICY_FUTURE
        if errors:
            raise ValidationError(errors)


class PolicyAcknowledgement(AppendOnlyModel):
    """A user read one version of the procedures and undertook to follow them (A4 training)."""

    policy = models.ForeignKey(DncPolicy, on_delete=models.PROTECT, related_name="acknowledgements")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    acknowledged_at = models.DateTimeField(default=timezone.now)
    statement = models.CharField(max_length=255, help_text="The words the user agreed to, as shown.")

    class Meta:
        ordering = ["-acknowledged_at"]
        constraints = [models.UniqueConstraint(fields=["policy", "user"], name="policy_acknowledged_once")]

    def __str__(self) -> str:
        return f"{self.user} acknowledged {self.policy} on {self.acknowledged_at:%Y-%m-%d}"


# Language and revocations ------------------------------------------------------------------


class ProhibitedPhrase(Versioned):
    """A phrase the language check flags (F6): blocks templates, warns on free-text notes.

    Versioned like the other rule tables: a text is judged by the phrases in force on its
    day, so a phrase counsel adds today does not turn yesterday's check into a breach."""

    pattern = models.CharField(
        max_length=200, help_text="A regular expression, matched case-insensitively."
    )
    label = models.CharField(max_length=120, help_text="The phrase as shown to agents.")
    why = models.CharField(max_length=255)
    rule = models.CharField(max_length=8, default="F6")

    class Meta:
        ordering = ["label"]

    def __str__(self) -> str:
        return self.label


class ReviewStatus(models.TextChoices):
    PENDING = "pending", "Waiting for review"
    REVOKED = "revoked", "Treated as a revocation"
    NOT_REVOCATION = "not_revocation", "Not a revocation"


class RevocationReviewQuerySet(RelatedToLeadQuerySet):
    def pending(self):
        return self.filter(status=ReviewStatus.PENDING)


class RevocationReview(models.Model):
    """A reply that may mean "stop" (B4): "wrong number", "no mas", a typo of STOP.

    Until a person decides, the number stays on the warn list; deciding it is a
    revocation puts it on the internal list.
    """

    lead = models.ForeignKey("leads.Lead", on_delete=models.PROTECT, related_name="revocation_reviews")
    phone_number = models.CharField(max_length=16, blank=True, db_index=True)
    email = models.EmailField(blank=True)
    text = models.TextField(help_text="The reply or note, word for word.")
    matched = models.CharField(max_length=120, help_text="What made it ambiguous.")
    status = models.CharField(max_length=16, choices=ReviewStatus.choices, default=ReviewStatus.PENDING)
    raised_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    raised_at = models.DateTimeField(default=timezone.now)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    objects = RevocationReviewQuerySet.as_manager()

    class Meta:
        ordering = ["status", "-raised_at"]

    def __str__(self) -> str:
        return f"Review: {self.matched!r} from {self.phone_number or self.email}"


# Revocation words (B4) -----------------------------------------------------------------------


class WordKind(models.TextChoices):
    STOP = "stop", "Stop word"
    STOP_PHRASE = "stop_phrase", "Stop phrase (a pattern)"
    START = "start", "Start word"
    HELP = "help", "Help word"
    CONFIRMATION = "confirmation", "Word a stop confirmation may not say (a pattern)"


# Kinds whose ``word`` is a regular expression; the others are words a whole text is compared to.
PATTERN_KINDS = frozenset({WordKind.STOP_PHRASE, WordKind.CONFIRMATION})
WORD_EMPTY = "Nothing is left of this word once case, punctuation and emoji are dropped: no text could match it."
WORD_BAD_PATTERN = "Not a valid pattern: {error}"
WORD_ANYWHERE_NOT_STOP = "Only a stop word can count anywhere in a text; phrases and patterns always do."
WORD_STATUTORY = (
    ", ".join(word.upper() for word in STATUTORY_STOP) + " revoke by law, as a whole word anywhere in a "
    "text: counsel may add stop words, not remove these (never ended, deactivated or made whole-text only)."
)
WORD_START_NOT_CARRIER = (
    "Only the carriers' keywords " + " and ".join(word.upper() for word in BUILT_IN_START) + " may lift a "
    "stop; an ordinary reply (\u201cyes\u201d, \u201cok\u201d) never may. The start list may lose a word, never gain one."
)


class RevocationWord(Versioned):
    """One word or phrase that decides what a homeowner's words ask for (B4), or what a stop
    confirmation may not say (docs/compliance-rules.md#b4-words).

    Versioned like the other rule tables: counsel adds a word, or ends one, from a date without a
    release, and a text is judged by the lists in force on the day it was received or said, so a
    word added today does not turn yesterday's reply into a missed stop."""

    kind = models.CharField(max_length=16, choices=WordKind.choices)
    word = models.CharField(
        max_length=300,
        help_text="A stop, start or help word as the whole text reads once case, punctuation and emoji "
                  "are dropped (\u201cstop\u201d, \u201copt out\u201d); for a phrase or a confirmation word, a regular "
                  "expression matched case-insensitively as whole words anywhere in the text.",
    )
    anywhere = models.BooleanField(
        default=False,
        help_text="A stop word only: it revokes also as a whole word inside a longer reply (\u201cplease STOP\u201d); "
                  "in an agent's note, alone, it goes to review. Unticked: only as the whole text (\u201cpara\u201d "
                  "is \u201cfor\u201d inside a Spanish sentence).",
    )
    language = models.CharField(max_length=8, default="en", help_text="en, es, ...")
    why = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["kind", "word", "-effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "word", "effective_from"], name="revocation_word_version_once"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.word}"

    def clean(self):
        super().clean()
        from .language import whole_text  # the reading of an inbound text, applied to the word

        if self.kind in PATTERN_KINDS:
            try:
                re.compile(self.word, re.IGNORECASE)
            except re.error as error:
                raise ValidationError({"word": WORD_BAD_PATTERN.format(error=error)}) from error
        elif self.kind:
            self.word = whole_text(self.word)
            if not self.word:
                raise ValidationError({"word": WORD_EMPTY})
        if self.anywhere and self.kind != WordKind.STOP:
            raise ValidationError({"anywhere": WORD_ANYWHERE_NOT_STOP})
        refused = {}
        if self.kind == WordKind.STOP and self.word in STATUTORY_STOP:
            # The lists read them as stops anyway (compliance/words.py): a row saying otherwise
            # would only mislead whoever reads the admin.
            if not self.anywhere:
                refused["anywhere"] = WORD_STATUTORY
            if self.effective_to is not None:
                refused["effective_to"] = WORD_STATUTORY
            if not self.is_active:
                refused["is_active"] = WORD_STATUTORY
        # A START lifts a stop (B1, B4): only a word nobody types as an ordinary reply.
        if self.kind == WordKind.START and self.word not in BUILT_IN_START:
            refused["word"] = WORD_START_NOT_CARRIER
        if refused:
            raise ValidationError(refused)
