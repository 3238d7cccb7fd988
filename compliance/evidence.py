"""Recording the evidence the gate relies on, from the lead page, and a broker's revocation.

Consent (D4, D5), an established business relationship or inquiry (C1), a reassigned
numbers check (D7) and a principal's written interest disclosure (F8) are recorded by
the people who hold them: the lead's agent, their team lead or the broker. Each is an
append-only row; a record that turns out not to be valid evidence (wrong number, forged,
entered by mistake) is revoked by a broker with a new ``EvidenceRevocation`` row, after
which the rules ignore it (``not_revoked()``). See docs/compliance-rules.md#evidence.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, datetime
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from leadcrm.accounts.models import Capacity, User
from leadcrm.accounts.roles import Perm
from leadcrm.shared.uploads import sniff_document
from leads.merging import lead_ids_with_merged
from leads.models import Lead, Phone

from .models import (
    CheckMode,
    ComplianceCheck,
    ConsentRecord,
    Direction,
    EstablishedRelationship,
    EvidenceFile,
    EvidenceRevocation,
    InterestDisclosure,
    ReassignedNumberCheck,
    RelationshipKind,
    RndResult,
    Verdict,
)

# The kinds of record the lead page records and a broker may revoke: the slug is also the
# name of the revocation's key to it.
EVIDENCE_KINDS: dict[str, type] = {
    "consent": ConsentRecord,
    "relationship": EstablishedRelationship,
    "number_check": ReassignedNumberCheck,
    "disclosure": InterestDisclosure,
}

NUMBER_NOT_ON_LEAD = "{number} is not a phone of this lead's owners: pick one of their numbers."
IN_THE_FUTURE = "That is in the future: record it once it has happened."
CONSENT_COVERS_NOTHING = "Tick what the consent covers: texts, autodialed calls or prerecorded calls."
NO_PROOF = "Attach the signed consent (a PDF or an image) or pick the inbound message it came in on."
MESSAGE_NOT_INBOUND = "That is not an inbound message logged on this lead."
MESSAGE_OTHER_NUMBER = "That message came from {sender}, not from the number the consent covers."
CONSENT_DATE_AFTER_QUERY = "The consent asked about cannot be dated after the query."
EMPTY_FILE = "The file is empty."
TOO_LARGE = "The file is {size:.1f} MB; the most a file may be is {limit:.0f} MB."
NOT_A_DOCUMENT = "This file is not a PDF, JPEG, PNG, HEIC or TIFF (checked by its content, whatever its name)."
NO_AGENT = "The lead has no agent: a written interest disclosure is its principal's, so assign the lead first."
NOT_A_PRINCIPAL = (
    "{agent} works this lead as a licensed agent for sellers, not as a principal buying for themselves: "
    "a written interest disclosure is only a principal's (F8)."
)
NOT_THE_PRINCIPAL = "Only the principal on the lead, their team lead or the broker records their disclosure."
SIGNED_DOCUMENT_NEEDED = "Attach the disclosure as signed by the homeowner (a PDF or an image)."
REASON_NEEDED = "Say why the record is not valid evidence (wrong number, forged, entered by mistake ...)."
ALREADY_REVOKED = "This record was already revoked; a revocation stands once recorded."
RECORD_OF_ANOTHER_LEAD = "That record is not this lead's."


def evidence_file_check(upload, *, field: str) -> tuple[str, str]:
    """(content type, extension) of an acceptable proof; refuses an empty, oversized or
    non-document file before anything is stored."""
    limit = settings.LEADCRM_DOCUMENT_MAX_BYTES
    if upload.size == 0:
        raise ValidationError({field: EMPTY_FILE})
    if upload.size > limit:
        raise ValidationError({field: TOO_LARGE.format(size=upload.size / 2**20, limit=limit / 2**20)})
    upload.seek(0)
    sniffed = sniff_document(upload.read(16))
    upload.seek(0)
    if sniffed is None:
        raise ValidationError({field: NOT_A_DOCUMENT})
    return sniffed


class _StoredFiles:
    """Files written for rows not yet committed: removed again if the rows never are."""

    def __init__(self):
        self.names: list[str] = []

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if kind is not None:
            for name in self.names:
                default_storage.delete(name)
        return False

    def store(self, *, lead: Lead, upload, checked: tuple[str, str], uploaded_by: User) -> EvidenceFile:
        content_type, extension = checked
        digest = hashlib.sha256()
        for chunk in upload.chunks():
            digest.update(chunk)
        upload.seek(0)
        # Our name, never the uploader's: no path they control, no extension they chose.
        name = default_storage.save(f"evidence/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.{extension}", upload)
        self.names.append(name)
        stored = EvidenceFile(lead=lead, stored_file=name, original_name=Path(upload.name or "proof").name[:255],
                              content_type=content_type, size=upload.size, sha256=digest.hexdigest(),
                              uploaded_by=uploaded_by)
        stored.full_clean()
        stored.save()
        return stored


def _number_on_lead(lead: Lead, number: str) -> bool:
    return Phone.objects.filter(contact__lead=lead, number=number).exists()


def _past(value: date | datetime | None) -> bool:
    if value is None:
        return True
    if isinstance(value, datetime):
        return value <= timezone.now()
    return value <= timezone.localdate()


def consent_record(
    *,
    lead: Lead,
    phone_number: str,
    consent_text: str,
    obtained_at: datetime,
    method: str,
    recorded_by: User,
    covers_sms: bool = False,
    covers_autodialer: bool = False,
    covers_prerecorded: bool = False,
    proof_file=None,
    proof_message: ComplianceCheck | None = None,
    proof_note: str = "",
) -> ConsentRecord:
    """The homeowner's prior express written consent for one of the lead's numbers (D4, D5),
    with its proof: the signed form (a file), the inbound message it came in on, or both."""
    errors: dict[str, str] = {}
    if not _number_on_lead(lead, phone_number):
        errors["phone_number"] = NUMBER_NOT_ON_LEAD.format(number=phone_number)
    if not _past(obtained_at):
        errors["obtained_at"] = IN_THE_FUTURE
    if not (covers_sms or covers_autodialer or covers_prerecorded):
        errors["covers_sms"] = CONSENT_COVERS_NOTHING
    if proof_file is None and proof_message is None:
        errors["proof_file"] = NO_PROOF
    if proof_message is not None:
        if not (proof_message.lead_id == lead.pk and proof_message.direction == Direction.INBOUND
                and proof_message.mode == CheckMode.LOG and proof_message.verdict != Verdict.BLOCK):
            errors["proof_message"] = MESSAGE_NOT_INBOUND
        elif proof_message.contact_point != phone_number:
            errors["proof_message"] = MESSAGE_OTHER_NUMBER.format(sender=proof_message.contact_point)
    if errors:
        raise ValidationError(errors)
    checked = evidence_file_check(proof_file, field="proof_file") if proof_file is not None else None
    with _StoredFiles() as files, transaction.atomic():
        record = ConsentRecord(
            lead=lead, phone_number=phone_number, consent_text=consent_text, obtained_at=obtained_at,
            method=method, covers_sms=covers_sms, covers_autodialer=covers_autodialer,
            covers_prerecorded=covers_prerecorded, proof_message=proof_message, proof_note=proof_note,
            recorded_by=recorded_by,
            proof_file=files.store(lead=lead, upload=proof_file, checked=checked, uploaded_by=recorded_by)
            if checked else None,
        )
        record.full_clean()
        record.save()
    return record


def relationship_record(
    *,
    lead: Lead,
    phone_number: str,
    kind: RelationshipKind | str,
    started_on: date,
    evidence: str,
    recorded_by: User,
    formed_with_brokerage: bool = True,
) -> EstablishedRelationship:
    """The brokerage's own inquiry or transaction with the homeowner (C1)."""
    errors: dict[str, str] = {}
    if not _number_on_lead(lead, phone_number):
        errors["phone_number"] = NUMBER_NOT_ON_LEAD.format(number=phone_number)
    if not _past(started_on):
        errors["started_on"] = IN_THE_FUTURE
    if errors:
        raise ValidationError(errors)
    record = EstablishedRelationship(lead=lead, phone_number=phone_number, kind=kind, started_on=started_on,
                                     evidence=evidence, formed_with_brokerage=formed_with_brokerage,
                                     recorded_by=recorded_by)
    record.full_clean()
    record.save()
    return record


def reassigned_number_check_record(
    *,
    lead: Lead,
    phone_number: str,
    consent_date: date,
    queried_at: datetime,
    result: RndResult | str,
    recorded_by: User,
) -> ReassignedNumberCheck:
    """The Reassigned Numbers Database's answer for one of the lead's numbers (D7)."""
    errors: dict[str, str] = {}
    if not _number_on_lead(lead, phone_number):
        errors["phone_number"] = NUMBER_NOT_ON_LEAD.format(number=phone_number)
    if not _past(queried_at):
        errors["queried_at"] = IN_THE_FUTURE
    elif consent_date and queried_at and consent_date > timezone.localtime(queried_at).date():
        errors["consent_date"] = CONSENT_DATE_AFTER_QUERY
    if errors:
        raise ValidationError(errors)
    record = ReassignedNumberCheck(lead=lead, phone_number=phone_number, consent_date=consent_date,
                                   queried_at=queried_at, result=result, recorded_by=recorded_by)
    record.full_clean()
    record.save()
    return record


def disclosure_principal(lead: Lead) -> User | None:
    """Whose written interest disclosure the lead may have: its agent, when a principal (F8)."""
    agent = lead.assigned_agent
    return agent if agent is not None and agent.capacity == Capacity.PRINCIPAL else None


def interest_disclosure_record(
    *,
    lead: Lead,
    disclosed_on: date,
    document_text: str,
    signed_document,
    recorded_by: User,
) -> InterestDisclosure:
    """A principal's written licensee-status and interest disclosure (F8), with the signed
    document; recorded by the principal on their own lead, or for them by their team lead
    or the broker."""
    agent = lead.assigned_agent
    if agent is None:
        raise ValidationError(NO_AGENT)
    if agent.capacity != Capacity.PRINCIPAL:
        raise ValidationError(NOT_A_PRINCIPAL.format(agent=agent))
    if recorded_by.pk != agent.pk and not recorded_by.has_perm(Perm.VIEW_TEAM_LEADS):
        raise ValidationError(NOT_THE_PRINCIPAL)
    errors: dict[str, str] = {}
    if not _past(disclosed_on):
        errors["disclosed_on"] = IN_THE_FUTURE
    if signed_document is None:
        errors["signed_document"] = SIGNED_DOCUMENT_NEEDED
    if errors:
        raise ValidationError(errors)
    checked = evidence_file_check(signed_document, field="signed_document")
    with _StoredFiles() as files, transaction.atomic():
        record = InterestDisclosure(
            lead=lead, principal=agent, disclosed_on=disclosed_on, document_text=document_text,
            signed_document=files.store(lead=lead, upload=signed_document, checked=checked,
                                        uploaded_by=recorded_by),
            recorded_by=recorded_by,
        )
        record.full_clean()
        record.save()
    return record


def evidence_revoke(*, lead: Lead, record, reason: str, revoked_by: User) -> EvidenceRevocation:
    """A broker's revocation of one record: a new row; the record itself is never touched.

    From the next check on, the gate and every rule read the record as if it were absent.
    """
    kind = next((slug for slug, model in EVIDENCE_KINDS.items() if isinstance(record, model)), None)
    if kind is None or record.lead_id not in set(lead_ids_with_merged(lead)):
        raise ValidationError(RECORD_OF_ANOTHER_LEAD)
    if not reason.strip():
        raise ValidationError({"reason": REASON_NEEDED})
    revocation = EvidenceRevocation(lead=lead, reason=reason.strip(), revoked_by=revoked_by, **{kind: record})
    try:
        revocation.full_clean()
        with transaction.atomic():
            revocation.save()
    except IntegrityError as error:  # two brokers at once: the one-to-one key keeps one
        raise ValidationError(ALREADY_REVOKED) from error
    except ValidationError as error:
        if kind in getattr(error, "error_dict", {}):
            raise ValidationError(ALREADY_REVOKED) from error
        raise
    return revocation
