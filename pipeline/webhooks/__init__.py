"""Outgoing webhooks: events sent, signed, to the URLs a broker registers (docs/webhooks.md)."""
