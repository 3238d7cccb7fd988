"""What leads tells the apps above it (compliance, pipeline), which connect receivers in
their ``AppConfig.ready``. Leads imports neither: an effect of a lead's change on their
rows goes through these (see docs/architecture.md). Every signal is sent inside the
transaction of the change, so the receivers' writes commit or roll back with it."""

from django.dispatch import Signal

# A lead was given to another agent (``leads.routing``: by hand, in bulk, by a rule,
# round-robin, a pond claim or a departure). Arguments: ``lead``, ``from_agent_id`` (may
# be None), ``to_agent`` (a User), ``now``. What the previous agent held for the lead
# (open follow-ups) follows it to the new one.
lead_reassigned = Signal()

# An import batch has written its leads and has houses with an auction ahead. Arguments:
# ``job`` (the ImportJob), ``due`` (when the call is due), ``auctions``: a list of
# ``leads.imports.batch.AuctionCall`` (lead id, assignee id or None, title, whether the
# lead was held before this batch). Receivers write what reaches the assignee (an urgent call
# follow-up, once per lead and title); a new lead's ``next_follow_up_at`` was written
# with ``due`` already, a held lead's is the receiver's to move.
import_auctions_found = Signal()

# Every row of an import is written; sent before the job is counted and closed, with
# ``job`` and ``phones`` (a queryset of the list's phones), so flags derived from other
# apps' records (Do-Not-Call) are right when the job's counts are taken.
import_written = Signal()

# A lead was merged into another (``leads.merging``) or the merge undone, and the rows moved
# between leads of two agents. Arguments: ``lead`` (the lead the rows are on now),
# ``from_agent_id`` (the other lead's agent), ``to_agent`` (this lead's agent), ``now``,
# ``merge`` (the LeadMerge) and ``undone``. What the other agent held for the moved rows
# (open follow-ups) goes to the agent who works the lead they are on.
leads_merged = Signal()
# Phone numbers were added or changed by hand (``leads.editing``: the lead page and the
# API; ``leads.intake``: a new lead, or new numbers on a lead already held). Arguments:
# ``phones`` (a queryset of those phones). Receivers flag them against the registries and the
# internal list in the same transaction, so the page shows the number's standing at once.
phones_changed = Signal()

# A lead was created (``leads.services.lead_create``: by hand, the intake form, the API).
# Arguments: ``lead``, ``at``. Outgoing webhooks (pipeline/webhooks) write their deliveries.
lead_created = Signal()

# A batch of an import created leads (``leads.imports.batch.write_batch``), sent once per
# batch. Arguments: ``lead_ids`` (a list), ``at``. Receivers take ids, not a query per lead.
leads_created = Signal()
