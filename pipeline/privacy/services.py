"""Answering a homeowner's privacy request: the download of everything held, and the
erasure. Each writes the append-only record of the request and what it did.
See docs/privacy.md#how-to-answer-a-request.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import models, transaction
from django.db.models import Case, CharField, JSONField, Value, When
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from compliance.models import Channel, InternalDncEntry
from compliance.services import internal_dnc_add
from leadcrm.shared.append_only import privacy_erasure
from leads.models import Contact, DeadReason, Email, EmailStatus, Lead, Phone, PhoneStatus, Stage
from leads.selectors import stage_counts_forget
from pipeline.models import (
    FollowUp,
    PlanEnrollment,
    PrivacyAction,
    PrivacyRequest,
    PrivacyRequestKind,
    SellerLink,
    StageChange,
)
from pipeline.plans.services import enrollment_end

from .coverage import BLANK, ERASED, FILE, PER_ROW, SCRUB, is_append_only, redactions_for
from .selectors import (
    HeldRows,
    PersonTerms,
    PrivacySearch,
    names_person,
    person_terms,
    privacy_held,
    privacy_lead_ids,
    privacy_package,
)

CONFIRM_WORD = "ERASE"
NOT_CONFIRMED = f"Type {CONFIRM_WORD} in capitals to confirm: nothing was erased."
NOTHING_CHOSEN = "Tick at least one lead that belongs to the person."
NEEDS_VERIFICATION = "Say how you confirmed the request comes from the homeowner (or someone allowed to act for them)."
CLOSING = ("Lead {lead} is closing (stage Close): the sale's contract, the lender's approval and the title company "
           "still need its file. Erase it once the sale has closed or fallen through; tell the homeowner when.")
# Why the number goes on the internal list: docs/privacy.md#the-do-not-call-entry.
DNC_WORDS = "Asked for their data to be erased (privacy request): never contact again."
CLOSED_BY_ERASURE = "Closed by a privacy erasure"
FOLLOW_UP_CLOSED = "Closed: the homeowner's data was erased at their request; do not contact them."
PLAN_ENDED = "Stopped: the homeowner's data was erased at their request; do not contact them."
CHUNK = 500


def _request_create(*, kind, handled_by, search: PrivacySearch, lead_ids, requester, verification) -> PrivacyRequest:
    if not (verification or "").strip():
        raise ValidationError({"verification": NEEDS_VERIFICATION})
    if not lead_ids:
        raise ValidationError(NOTHING_CHOSEN)
    request = PrivacyRequest(kind=kind, requester=requester, verification=verification.strip(),
                             term_hashes=search.term_hashes(), lead_ids=list(lead_ids), handled_by=handled_by)
    request.full_clean()
    request.save()
    return request


def privacy_access_answer(*, handled_by, search: PrivacySearch, lead_ids, requester: str,
                          verification: str) -> tuple[PrivacyRequest, bytes]:
    """Record an access request and build the download of everything held."""
    ids = privacy_lead_ids(fetched_by=handled_by, lead_ids=lead_ids)
    with transaction.atomic():
        request = _request_create(kind=PrivacyRequestKind.ACCESS, handled_by=handled_by, search=search, lead_ids=ids,
                                  requester=requester, verification=verification)
        package, counts = privacy_package(fetched_by=handled_by, lead_ids=ids)
        PrivacyAction.objects.bulk_create([PrivacyAction(request=request, model=label, rows=rows)
                                           for label, rows in sorted(counts.items())])
    return request, package


def _scrubbed(value, terms: PersonTerms, own_row: bool = False):
    """JSON with every string naming the person replaced. In a row matched as theirs (an
    import's rejected row) any of their names counts, short ones too."""
    if isinstance(value, str):
        named = terms.in_their_own_row(value) if own_row else names_person(value, terms)
        return ERASED if named else value
    if isinstance(value, list):
        return [_scrubbed(item, terms, own_row) for item in value]
    if isinstance(value, dict):
        return {key: _scrubbed(item, terms, own_row) for key, item in value.items()}
    return value


def _write(queryset, append_only: bool, **values) -> int:
    if append_only:
        return queryset.redact(**values)
    return models.QuerySet.update(queryset, **values)


def _redact(held: HeldRows, terms: PersonTerms, files: list[str]) -> PrivacyAction | None:
    """Apply one model's redactions to the person's rows: one statement per kind of change,
    JSON rewritten row by row in chunks (``Case``), so the statements never grow with rows."""
    model = held.queryset.model
    redactions = redactions_for(model)
    # A fresh queryset without annotations, so the UPDATE is a plain one.
    rows = model._default_manager if is_append_only(model) else model._base_manager
    ids = list(held.queryset.values_list("pk", flat=True))
    if not ids:
        return None
    append_only = is_append_only(model)
    removed = 0
    for name in [name for name, value in redactions.items() if value == FILE]:
        names = [stored for stored in rows.filter(pk__in=ids).values_list(name, flat=True) if stored]
        files.extend(names)
        removed += len(names)
    for name in [name for name, value in redactions.items() if value == SCRUB]:
        changed = {}
        for pk, value in rows.filter(pk__in=ids).values_list("pk", name):
            scrubbed = _scrubbed(value, terms, own_row=held.held is None)
            if scrubbed != value:
                changed[pk] = scrubbed
        pks = sorted(changed)
        for start in range(0, len(pks), CHUNK):
            chunk = pks[start:start + CHUNK]
            _write(rows.filter(pk__in=chunk), append_only, **{name: Case(
                *[When(pk=pk, then=Value(changed[pk], output_field=JSONField())) for pk in chunk],
                output_field=JSONField())})
    values = {}
    for name, value in redactions.items():
        if value == SCRUB:
            continue
        if value == FILE:
            values[name] = BLANK
        elif value == PER_ROW:
            values[name] = Concat(Value("erased-"), Cast("pk", CharField()), output_field=CharField())
        else:
            field = model._meta.get_field(name)
            values[name] = value if not field.max_length or len(value) <= field.max_length else BLANK
    if values:
        _write(rows.filter(pk__in=ids), append_only, **values)
    return PrivacyAction(model=held.label, rows=len(ids), fields=sorted(redactions), files_removed=removed)


def privacy_erase(*, handled_by, search: PrivacySearch, lead_ids, requester: str, verification: str,
                  confirmation: str) -> PrivacyRequest:
    """Erase a homeowner's details from every row held about them, in one transaction.

    First their numbers and emails go on the internal do-not-contact list (an erased number
    would otherwise be called again the next time a list holding it is imported); then
    every model's fields named in ``coverage.REDACTIONS`` are replaced, stored files are
    deleted once the transaction commits, the leads still open are closed as dead and
    their open follow-ups closed.
    The evidence and the outreach log keep their decisions, times and rule IDs
    (docs/privacy.md#what-is-kept). Refused while a lead is closing.
    """
    if confirmation.strip() != CONFIRM_WORD:
        raise ValidationError({"confirmation": NOT_CONFIRMED})
    ids = privacy_lead_ids(fetched_by=handled_by, lead_ids=lead_ids)
    files: list[str] = []
    with transaction.atomic():
        leads = list(Lead.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
        closing = [lead for lead in leads if lead.stage == Stage.CLOSE]
        if closing:
            raise ValidationError(CLOSING.format(lead=closing[0].pk))
        request = _request_create(kind=PrivacyRequestKind.ERASURE, handled_by=handled_by, search=search,
                                  lead_ids=ids, requester=requester, verification=verification)
        terms = person_terms(ids)
        _do_not_contact(ids, handled_by)
        held = privacy_held(fetched_by=handled_by, lead_ids=ids)
        actions = []
        with privacy_erasure():
            for rows in held:
                action = _redact(rows, terms, files)
                if action is not None:
                    action.request = request
                    actions.append(action)
        now = timezone.now()
        _close_as_dead(leads, handled_by, now)
        _mark_erased(ids, request, now)
        # Nobody is to call them again: their open follow-ups close, saying why.
        FollowUp.objects.filter(lead__in=ids, done_at__isnull=True).update(done_at=now,
                                                                            closed_reason=FOLLOW_UP_CLOSED)
        # Their status page stops opening: what it would show is gone, and its link is theirs.
        SellerLink.objects.filter(lead__in=ids, revoked_at__isnull=True).update(revoked_at=now)
        # Nothing more is sent or asked from their plans: each stops, its steps cancelled.
        for enrollment in PlanEnrollment.objects.open().filter(lead__in=ids):
            enrollment_end(enrollment=enrollment, actor=handled_by, reason=PLAN_ENDED, at=now)
        PrivacyAction.objects.bulk_create(actions)
        transaction.on_commit(lambda: [default_storage.delete(name) for name in files])
    return request


def _mark_erased(lead_ids, request: PrivacyRequest, now) -> None:
    """The lead says it was erased, and when, on its page; its numbers and emails take the
    erased status, which nothing that dials or writes offers (docs/privacy.md#an-erased-lead)."""
    Lead.objects.filter(pk__in=lead_ids).update(erased_at=now, erasure_request_number=request.pk,
                                                next_follow_up_at=None)
    Phone.objects.filter(contact__lead__in=lead_ids).update(status=PhoneStatus.ERASED)
    Email.objects.filter(contact__lead__in=lead_ids).update(status=EmailStatus.ERASED)


def _close_as_dead(leads: list[Lead], closed_by, now) -> None:
    """The open leads move to dead as any move does: the lead's stage and a ``StageChange``
    row, which the stage history, the funnel and the forecast read (a lead dead without one
    would look, to them, as if it never left its stage)."""
    open_leads = [lead for lead in leads if lead.stage not in (Stage.CLOSED, Stage.DEAD)]
    if not open_leads:
        return
    Lead.objects.filter(pk__in=[lead.pk for lead in open_leads]).update(
        stage=Stage.DEAD, dead_reason=DeadReason.OTHER, stage_entered_at=now, next_follow_up_at=None, updated_at=now)
    StageChange.objects.bulk_create([
        StageChange(lead=lead, from_stage=lead.stage, to_stage=Stage.DEAD, dead_reason=DeadReason.OTHER,
                    note=CLOSED_BY_ERASURE, changed_by=closed_by, changed_at=now) for lead in open_leads])
    agents = {lead.assigned_agent_id for lead in open_leads}
    transaction.on_commit(lambda: stage_counts_forget(*agents, closed_by.pk))


def _do_not_contact(lead_ids, recorded_by) -> None:
    """Every number, email and address of the person on the internal list, unless already
    there (docs/privacy.md#the-do-not-call-entry)."""
    numbers = set(Phone.objects.filter(contact__lead__in=lead_ids).values_list("number", flat=True))
    emails = set(Email.objects.filter(contact__lead__in=lead_ids).values_list("address", flat=True))
    listed = InternalDncEntry.objects.filter(models.Q(phone_number__in=numbers) | models.Q(email__in=emails))
    listed_numbers = set(listed.values_list("phone_number", flat=True))
    listed_emails = set(listed.values_list("email", flat=True))
    # Not tied to the lead: the entry is about the number, and stays whole (its words hold no one's details).
    for number in sorted(numbers - listed_numbers):
        internal_dnc_add(channel=Channel.CALL, phone_number=number, homeowner_words=DNC_WORDS,
                         recorded_by=recorded_by)
    for email in sorted(emails - listed_emails):
        internal_dnc_add(channel=Channel.EMAIL, email=email, homeowner_words=DNC_WORDS, recorded_by=recorded_by)
    # The house (door knocks) and the owners' mailing addresses (letters), as the gate reads them.
    addresses = set(Lead.objects.filter(pk__in=lead_ids).values_list("property__address_key", flat=True))
    addresses.update(filter(None, (contact.mailing_address_key() for contact in Contact.objects.filter(
        lead__in=lead_ids))))
    listed_addresses = set(InternalDncEntry.objects.filter(postal_address__in=addresses).values_list(
        "postal_address", flat=True))
    for address in sorted(addresses - listed_addresses):
        internal_dnc_add(channel=Channel.MAIL, postal_address=address, homeowner_words=DNC_WORDS,
                         recorded_by=recorded_by)
