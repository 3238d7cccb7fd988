"""What the pipeline's lower parts tell the parts above them (action plans), which connect
receivers in ``PipelineConfig.ready``: the outreach log and the stage rules know nothing
of plans. Each signal is sent inside the transaction of the change, so a receiver's
writes commit or roll back with it (docs/architecture.md)."""

from django.dispatch import Signal

# An outreach attempt was logged (``pipeline.outreach.services.outreach_log``), the gate
# having allowed it. Arguments: ``attempt`` (with ``stop_recorded`` and ``review_raised``
# set), ``whole_contact`` (the homeowner asked not to be contacted at all). A reply, a
# conversation or a stop pauses or narrows the lead's action plans.
outreach_logged = Signal()

# A lead moved to another stage (``pipeline.deals.services.lead_stage_change``). Arguments:
# ``lead`` (in its new stage), ``from_stage``, ``at``.
lead_stage_changed = Signal()

# Follow-ups reached their time to be told (``pipeline.reminders.notifications.reminders_send``).
# Arguments: ``follow_ups`` (locked, with ``lead``), ``at``. Outgoing webhooks send one
# event per follow-up and due time.
follow_ups_due = Signal()

# A document of the package was stored (``pipeline.deals.documents.document_upload``), by
# the agent or by the homeowner on their status page. Arguments: ``upload`` (with
# ``item``), ``lead``, ``at``.
document_received = Signal()
