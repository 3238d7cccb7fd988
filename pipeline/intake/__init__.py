"""Leads that homeowners send themselves: the public seller form, embeddable on a brokerage's
own site, its consent record, its spam checks, and the agent told at once (docs/intake.md)."""
