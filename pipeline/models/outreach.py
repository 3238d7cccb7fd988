"""The outreach log, message templates, mail batches and lead notes."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from compliance.models import Channel, CheckMode, Direction, Purpose, Technology, Verdict
from leadcrm.accounts.models import Capacity
from leadcrm.shared.append_only import AppendOnlyModel, AppendOnlyQuerySet
from leads.querysets import RelatedToLeadQuerySet

CHECK_DID_NOT_PASS = "An outreach attempt needs a compliance check of this lead that did not block it."


class Outcome(models.TextChoices):
    """Result buttons as dialers have them, plus what a letter, email or text does."""

    NO_ANSWER = "no_answer", "No answer"
    LEFT_VOICEMAIL = "left_voicemail", "Left voicemail"
    TALKED = "talked", "Talked"
    APPOINTMENT_SET = "appointment_set", "Appointment set"
    WRONG_NUMBER = "wrong_number", "Wrong number"
    BAD_NUMBER = "bad_number", "Bad number"
    DNC_REQUEST = "dnc_request", "Do-not-call request"
    DO_NOT_CONTACT = "do_not_contact", "Do not contact me at all"
    SENT = "sent", "Sent"
    REPLIED = "replied", "Homeowner replied"


# Outcomes in which the homeowner was reached and engaged (the contact stage's entry
# rule, and what "last contacted" means). A request to stop is not an engagement.
REACHED_OUTCOMES = frozenset({Outcome.TALKED, Outcome.APPOINTMENT_SET})

# What each channel can lead to; anything else is a mistake in the log.
OUTCOMES_BY_CHANNEL = {
    Channel.CALL: frozenset({
        Outcome.NO_ANSWER, Outcome.LEFT_VOICEMAIL, Outcome.TALKED, Outcome.APPOINTMENT_SET,
        Outcome.WRONG_NUMBER, Outcome.BAD_NUMBER, Outcome.DNC_REQUEST, Outcome.DO_NOT_CONTACT,
    }),
    Channel.SMS: frozenset({
        Outcome.SENT, Outcome.REPLIED, Outcome.TALKED, Outcome.APPOINTMENT_SET, Outcome.WRONG_NUMBER,
        Outcome.BAD_NUMBER, Outcome.DNC_REQUEST, Outcome.DO_NOT_CONTACT,
    }),
    Channel.EMAIL: frozenset({
        Outcome.SENT, Outcome.REPLIED, Outcome.TALKED, Outcome.APPOINTMENT_SET, Outcome.DNC_REQUEST,
        Outcome.DO_NOT_CONTACT,
    }),
    Channel.MAIL: frozenset({Outcome.SENT, Outcome.DNC_REQUEST, Outcome.DO_NOT_CONTACT}),
    Channel.DOOR: frozenset({Outcome.NO_ANSWER, Outcome.TALKED, Outcome.APPOINTMENT_SET, Outcome.DNC_REQUEST,
                             Outcome.DO_NOT_CONTACT}),
}


class OutreachAttemptQuerySet(AppendOnlyQuerySet, RelatedToLeadQuerySet):
    def reached(self):
        """The attempts that reached the homeowner (a conversation). An entry later corrected
        no longer counts; its correction does."""
        return self.filter(outcome__in=REACHED_OUTCOMES, corrections__isnull=True)


class OutreachAttempt(AppendOnlyModel):
    """The outreach log: append-only, and only ``pipeline.outreach.services.outreach_log`` writes it.

    Every row points at the compliance check it passed, made in the same transaction.
    """

    lead = models.ForeignKey("leads.Lead", on_delete=models.PROTECT, related_name="outreach_attempts")
    contact = models.ForeignKey(
        "leads.Contact", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    phone = models.ForeignKey(
        "leads.Phone", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    email = models.ForeignKey(
        "leads.Email", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    contact_point = models.CharField(
        max_length=200, help_text="The number, email or address as contacted."
    )
    channel = models.CharField(max_length=8, choices=Channel.choices)
    direction = models.CharField(max_length=8, choices=Direction.choices, default=Direction.OUTBOUND)
    purpose = models.CharField(max_length=24, choices=Purpose.choices, default=Purpose.LISTING)
    technology = models.CharField(max_length=12, choices=Technology.choices, default=Technology.MANUAL)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    notes = models.TextField(blank=True)
    role_disclosed = models.BooleanField(
        help_text="The agent confirmed stating their name, brokerage and role."
    )
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    occurred_at = models.DateTimeField(default=timezone.now)
    logged_at = models.DateTimeField(auto_now_add=True)
    # Both tables are partitioned by month on PostgreSQL: no foreign key can point into one,
    # and the one-attempt-per-check rule is a trigger there (docs/database.md#partitions).
    # Django's state says unique (a one-to-one), but on PostgreSQL the index
    # pipeline_outreachattempt_compliance_check_id_key is NOT unique: a unique index on a
    # partitioned table must hold occurred_at. A later AlterField of this field must keep
    # it so (no unique constraint to drop or add there); on SQLite it is a unique index.
    compliance_check = models.OneToOneField(
        "compliance.ComplianceCheck", on_delete=models.PROTECT, related_name="outreach_attempt",
        db_constraint=False,
    )
    corrects = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="corrections", db_constraint=False,
        help_text="The earlier entry this one corrects.",
    )

    objects = OutreachAttemptQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-pk"]
        indexes = [
            models.Index(fields=["lead", "occurred_at"], name="outreach_lead_time"),
            models.Index(fields=["agent", "occurred_at"], name="outreach_agent_time"),
            # The API's sync reads the log by when each row was written (docs/architecture.md#api-sync).
            models.Index(fields=["logged_at", "id"], name="outreach_logged_sync"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.contact_point}: {self.get_outcome_display()}"

    @property
    def reached_homeowner(self) -> bool:
        return self.outcome in REACHED_OUTCOMES

    def clean(self):
        # The gate, in the model too (PostgreSQL also has a trigger): an attempt rides on
        # a check that was made to log it, for this lead, and did not block.
        check = self.compliance_check
        if check.verdict == Verdict.BLOCK or check.mode != CheckMode.LOG or check.lead_id != self.lead_id:
            raise ValidationError(CHECK_DID_NOT_PASS)


# Scripts and message templates ------------------------------------------------------------


class TemplateKind(models.TextChoices):
    CALL_SCRIPT = "call_script", "Call script"
    TEXT = "text", "Text message"
    EMAIL = "email", "Email"
    LETTER = "letter", "Letter"
    POSTCARD = "postcard", "Postcard"


class TemplateSituation(models.TextChoices):
    """Whom a template is written for: a note thanking someone for a conversation must not
    reach a homeowner nobody has talked to."""

    FIRST_CONTACT = "first_contact", "First contact: a homeowner not reached yet"
    AFTER_CONVERSATION = "after_conversation", "After a conversation with the homeowner"
    ANY = "any", "Any homeowner"


class MessageTemplateQuerySet(models.QuerySet):
    def usable_by(self, user):
        """The brokerage's shared templates and the user's own."""
        return self.filter(is_active=True).filter(models.Q(owner__isnull=True) | models.Q(owner=user))

    def for_capacity(self, capacity):
        """Those meant for a caller in ``capacity``, or for anyone."""
        return self.filter(models.Q(capacity="") | models.Q(capacity=capacity))


class MessageTemplate(models.Model):
    """A call script or message with ``[First Name]``-style merge fields.

    Saved only through ``pipeline.outreach.scripts.template_save``, which refuses prohibited
    promises (F6) and merge fields that do not exist.
    """

    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=12, choices=TemplateKind.choices)
    subject = models.CharField(max_length=200, blank=True, help_text="Emails only.")
    body = models.TextField()
    # The seller guide goes with the email as a PDF, with the sending agent on it.
    attach_guide = models.BooleanField("attach the seller guide (PDF)", default=False, help_text="Emails only.")
    situation = models.CharField(
        "written for", max_length=20, choices=TemplateSituation.choices, default=TemplateSituation.ANY,
        help_text="A template for after a conversation is never sent or printed for a lead nobody has reached.",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="templates",
        help_text="Empty: shared with the whole brokerage.",
    )
    # A listing agent's pitch is wrong in the mouth of an investor buying for themselves,
    # and the reverse: each is offered only to callers in its capacity.
    capacity = models.CharField(
        "for", max_length=20, choices=Capacity.choices, blank=True,
        help_text="Who uses it: listing agents or investors buying for themselves. Empty: anyone.",
    )
    is_active = models.BooleanField(default=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = MessageTemplateQuerySet.as_manager()

    class Meta:
        ordering = ["kind", "name", "pk"]
        permissions = [("manage_shared_templates", "Can edit the brokerage's shared scripts and templates")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_shared(self) -> bool:
        return self.owner_id is None


class MailBatch(models.Model):
    """One confirmed "mark these letters as mailed": the letters it logged, kept so that the
    printed page can be drawn again and a confirmation sent twice (a reload, a double
    click) logs nothing twice. The token is the confirmation's own, unique."""

    token = models.UUIDField(unique=True)
    template = models.ForeignKey(MessageTemplate, on_delete=models.PROTECT, related_name="+")
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    letter_date = models.DateField(help_text="The date printed on the letters (the agent's day).")
    # [{"lead": id, "owners": [ids], "status": "logged" | "reprint" | "refused", "reason": "..."}]
    letters = models.JSONField(default=list)
    done = models.BooleanField(default=False, help_text="Every letter of it has been through the gate.")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.template} by {self.agent}, {self.created_at:%Y-%m-%d %H:%M}"


class LeadNote(models.Model):
    """A note on a lead's timeline: what was learned, in the agent's words."""

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    objects = RelatedToLeadQuerySet.as_manager()

    class Meta:
        ordering = ["lead", "-created_at", "-pk"]
        indexes = [models.Index(fields=["lead", "created_at"], name="leadnote_lead_time")]

    def __str__(self) -> str:
        return self.body[:60]
