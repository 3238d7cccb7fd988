"""Which URLs a webhook may be sent to: https, and never an address inside our own network.

Checked when the broker saves the URL and again, resolving the name afresh, before every
attempt (a name that pointed outside may point inside later). Redirects are not followed.
``LEADCRM_WEBHOOKS_ALLOW_PRIVATE`` lifts both rules for development, tests and the demo,
where the receiver is a stand-in on 127.0.0.1 (docs/webhooks.md#addresses)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

HTTPS_REQUIRED = "Use an https:// address: deliveries carry lead details and must be encrypted on the way."
NO_HOST = "That address has no host name."
UNRESOLVED = "The name {host} does not resolve to any address."
PRIVATE_ADDRESS = ("{host} points inside a private network ({address}): webhooks go only to addresses on the "
                   "public internet.")
WITH_CREDENTIALS = "Leave the user name and password out of the address: deliveries are signed instead."


def _is_private(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def url_check(url: str, *, resolve: bool = True) -> None:
    """Raise ``ValidationError`` (on ``url``) when ``url`` may not receive webhooks."""
    parts = urlsplit(url or "")
    allow_private = settings.LEADCRM_WEBHOOKS_ALLOW_PRIVATE
    if parts.scheme != "https" and not (allow_private and parts.scheme == "http"):
        raise ValidationError({"url": HTTPS_REQUIRED})
    if parts.username or parts.password:
        raise ValidationError({"url": WITH_CREDENTIALS})
    host = parts.hostname
    if not host:
        raise ValidationError({"url": NO_HOST})
    if allow_private or not resolve:
        return
    try:
        found = {info[4][0] for info in socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)}
    except (socket.gaierror, UnicodeError):
        raise ValidationError({"url": UNRESOLVED.format(host=host)}) from None
    if not found:
        raise ValidationError({"url": UNRESOLVED.format(host=host)})
    for address in sorted(found):
        if _is_private(address):
            raise ValidationError({"url": PRIVATE_ADDRESS.format(host=host, address=address)})
