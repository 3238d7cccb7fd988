"""Which URLs a webhook may be sent to: https, and never an address inside our own network.

Checked when the broker saves the URL and again, resolving the name afresh, before every
attempt (a name that pointed outside may point inside later). The attempt then connects
to exactly the address checked (``url_resolve``), never resolving the name a second time,
so a name that changes its answer in between (DNS rebinding) reaches nothing inside.
Redirects are not followed. ``LEADCRM_WEBHOOKS_ALLOW_PRIVATE`` lifts both rules for
development, tests and the demo, where the receiver is a stand-in on 127.0.0.1
(docs/webhooks.md#addresses)."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Target:
    """Where one attempt goes: the URL's host name (for the Host header and the TLS
    certificate) and the one address it was checked to resolve to (to connect to)."""

    host: str
    port: int
    address: str
    family: int
    sockaddr: tuple


def url_check(url: str, *, resolve: bool = True) -> None:
    """Raise ``ValidationError`` (on ``url``) when ``url`` may not receive webhooks."""
    _checked(url, resolve=resolve)


def url_resolve(url: str) -> Target:
    """Check ``url`` and resolve its host once: the address an attempt must connect to.
    ``ValidationError`` when it may not receive webhooks or does not resolve."""
    return _checked(url, resolve=True, pin=True)


def _checked(url: str, *, resolve: bool, pin: bool = False) -> Target | None:
    parts = urlsplit(url or "")
    allow_private = settings.LEADCRM_WEBHOOKS_ALLOW_PRIVATE
    if parts.scheme != "https" and not (allow_private and parts.scheme == "http"):
        raise ValidationError({"url": HTTPS_REQUIRED})
    if parts.username or parts.password:
        raise ValidationError({"url": WITH_CREDENTIALS})
    host = parts.hostname
    if not host:
        raise ValidationError({"url": NO_HOST})
    if not resolve or (allow_private and not pin):
        return None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        # In the resolver's order of preference; the first is the one connected to.
        answers = [(info[0], info[4]) for info in socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)]
    except (socket.gaierror, UnicodeError, OSError):
        raise ValidationError({"url": UNRESOLVED.format(host=host)}) from None
    if not answers:
        raise ValidationError({"url": UNRESOLVED.format(host=host)})
    if not allow_private:
        for address in sorted({sockaddr[0] for _, sockaddr in answers}):
            if _is_private(address):
                raise ValidationError({"url": PRIVATE_ADDRESS.format(host=host, address=address)})
    family, sockaddr = answers[0]
    return Target(host=host, port=port, address=sockaddr[0], family=family, sockaddr=tuple(sockaddr))
