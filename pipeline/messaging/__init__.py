"""Texts, calls and emails that really leave, and what comes back (docs/messaging.md).

``providers`` is the seam: one interface, a Twilio backend, a local one for the demo.
``services`` writes: a text goes through the gate (``outreach_log``) and only then to the
provider; inbound texts are filed, STOP is honoured in the same request.
"""
