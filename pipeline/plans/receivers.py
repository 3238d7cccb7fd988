"""Action plans' side of what the outreach log and the stage rules announce
(pipeline/signals.py), connected in ``PipelineConfig.ready``. Each runs inside the
sender's transaction: the pause commits with the reply that caused it."""

from __future__ import annotations

from django.dispatch import receiver
from django.utils import timezone

from compliance.models import Channel, Direction
from pipeline.models import REACHED_OUTCOMES, OutreachAttempt, PauseReason, StageChange
from pipeline.signals import lead_stage_changed, outreach_logged

from .services import lead_channels_end, lead_responded, lead_stage_moved

STOPPED = "the homeowner asked to stop ({channel}) on {day}"
STOPPED_ALL = "the homeowner asked not to be contacted at all on {day}"
# "Do not contact me at all": texts, email, letters, and the plan's calls and visits.
ALL_CHANNELS = [Channel.SMS, Channel.EMAIL, Channel.MAIL, Channel.CALL]


@receiver(outreach_logged, sender=OutreachAttempt, dispatch_uid="plans-pause-on-response")
def plans_hear_the_homeowner(*, attempt: OutreachAttempt, whole_contact: bool, **kwargs) -> None:
    """A reply in or a conversation pauses the lead's plans; a stop ends their steps on that
    channel (on every channel for "do not contact me at all")."""
    if attempt.direction == Direction.INBOUND:
        # A text or an email in; a call or a visit logged as the homeowner's own is a conversation.
        reason = {Channel.SMS: PauseReason.INBOUND_TEXT, Channel.EMAIL: PauseReason.INBOUND_EMAIL}.get(
            attempt.channel, PauseReason.CONVERSATION)
        lead_responded(lead_id=attempt.lead_id, reason=reason, detail=attempt.notes[:200], at=attempt.occurred_at)
    elif attempt.outcome in REACHED_OUTCOMES:
        lead_responded(lead_id=attempt.lead_id, reason=PauseReason.CONVERSATION,
                       detail=attempt.get_outcome_display(), at=attempt.occurred_at)
    if getattr(attempt, "stop_recorded", False):
        day = f"{timezone.localtime(attempt.occurred_at):%b %-d, %Y}"
        if whole_contact:
            lead_channels_end(lead_id=attempt.lead_id, channels=ALL_CHANNELS, reason=STOPPED_ALL.format(day=day))
        else:
            # A stop said on a call covers the texts to that number too (B1).
            channels = [Channel.SMS] if attempt.channel in (Channel.CALL, Channel.SMS) else [attempt.channel]
            lead_channels_end(lead_id=attempt.lead_id, channels=channels, reason=STOPPED.format(
                channel=Channel(attempt.channel).label.lower(), day=day))


@receiver(lead_stage_changed, sender=StageChange, dispatch_uid="plans-follow-the-stage")
def plans_follow_the_stage(*, lead, at, **kwargs) -> None:
    lead_stage_moved(lead=lead, at=at)
