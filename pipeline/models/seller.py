"""The seller's side: status page links, events, the guide, briefings, agent photos."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from leadcrm.shared.append_only import AppendOnlyModel, AppendOnlyQuerySet
from leads.querysets import RelatedToLeadQuerySet

# The seller's side --------------------------------------------------------------------------
# A homeowner who knows what a short sale takes sends the pay stubs on time and does not
# walk away in month three. Each lead can have one private status page, opened by a link
# the agent sends; a guide the brokerage edits; and a record of what the seller was told.


class SellerLink(models.Model):
    """The private address of a lead's status page. Only a hash of its token is kept (a
    leaked database opens no one's file); a new link replaces the old one, which stops
    working at once."""

    lead = models.OneToOneField("leads.Lead", on_delete=models.CASCADE, related_name="seller_link")
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    # The optional second factor: the last four digits of a phone on file.
    asks_phone_digits = models.BooleanField(default=False)
    failed_checks = models.PositiveSmallIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    last_visit_at = models.DateTimeField(null=True, blank=True)

    objects = RelatedToLeadQuerySet.as_manager()

    def __str__(self) -> str:
        return f"Status page of lead {self.lead_id}"

    def is_open_at(self, moment) -> bool:
        return self.revoked_at is None and self.expires_at > moment


class SellerEventKind(models.TextChoices):
    LINK_CREATED = "link_created", "Status page link created"
    LINK_REVOKED = "link_revoked", "Status page link revoked"
    VISIT = "visit", "Seller opened the status page"
    UPLOAD = "upload", "Seller uploaded a document"
    GUIDE = "guide", "Seller downloaded the guide"
    CHECK_FAILED = "check_failed", "Wrong phone digits on the status page"
    LOCKED = "locked", "Status page locked after wrong phone digits"


class SellerEventQuerySet(AppendOnlyQuerySet, RelatedToLeadQuerySet):
    pass


class SellerEvent(AppendOnlyModel):
    """What happened on the seller's side of a lead, for its timeline: links made and
    revoked, visits, uploads, guide downloads, failed second factors. Append-only."""

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="seller_events")
    kind = models.CharField(max_length=14, choices=SellerEventKind.choices)
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="+", help_text="The agent, for links; empty for the seller.")
    upload = models.ForeignKey("DocumentUpload", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    detail = models.CharField(max_length=300, blank=True)

    objects = SellerEventQuerySet.as_manager()

    class Meta:
        ordering = ["lead", "-at", "-pk"]
        indexes = [models.Index(fields=["lead", "at"], name="sellerevent_lead_time")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.at:%Y-%m-%d %H:%M})"


class GuideSection(models.Model):
    """One section of the seller guide: the "free guide" agents offer on the first call,
    shown on the status page and as a PDF. Plain text: paragraphs split by a blank line, a
    line starting "- " is a bullet. Checked by the language rule (F6) on every save."""

    position = models.PositiveSmallIntegerField(default=0)
    title = models.CharField(max_length=120)
    body = models.TextField()
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.title

    def clean(self):
        from compliance.services import template_language_check

        template_language_check(f"{self.title}\n\n{self.body}")


class BriefingTopic(models.TextChoices):
    """What a seller should hear before the sale depends on them ("unrealistic
    sellers" sink short sales: docs/short-sales.md)."""

    TIMELINE = "timeline", "The timeline: 60 to 180 days, and why it slips"
    LENDER_PROCESS = "lender_process", "The lenders' process, and that only the lenders decide"
    PRICING = "pricing", "Pricing and the lenders' valuation"
    DOCUMENTS = "documents", "The documents, and how recent they must be"
    DEFICIENCY = "deficiency", "A possible deficiency, and to ask a tax or legal professional"


class SellerBriefing(models.Model):
    """The day the seller was told about one topic, and by whom."""

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="briefings")
    topic = models.CharField(max_length=16, choices=BriefingTopic.choices)
    told_on = models.DateField()
    told_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    recorded_at = models.DateTimeField(auto_now=True)

    objects = RelatedToLeadQuerySet.as_manager()

    class Meta:
        ordering = ["lead", "told_on", "topic"]
        constraints = [models.UniqueConstraint(fields=["lead", "topic"], name="briefing_once_per_topic")]

    def __str__(self) -> str:
        return f"{self.get_topic_display()}: {self.told_on}"


class AgentPhoto(models.Model):
    """The agent's photo, shown to their sellers. Stored under a name we chose, checked by
    its content, served only through the seller's link or to the agent themselves."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="photo")
    stored_file = models.CharField(max_length=255, editable=False)
    content_type = models.CharField(max_length=30)
    uploaded_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Photo of {self.user}"
