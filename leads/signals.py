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

# A phone number was added or changed by hand (``leads.editing``). Arguments: ``phones``
# (a queryset of those phones). Receivers flag them against the registries and the
# internal list in the same transaction, so the page shows the number's standing at once.
phones_changed = Signal()
