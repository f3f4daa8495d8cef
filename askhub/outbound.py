"""Where AskHub may send requests on a user's behalf: the webhook URL rule (no SSRF).

A person chooses their webhook URL, and the server POSTs signed requests there, so the URL
must not reach what only the server can: itself, the internal network, or a cloud metadata
service (169.254.169.254). The rule, checked when a URL is saved and again, on the addresses
actually connected to, at every send (a name may resolve elsewhere by then):

- ``https://`` only;
- every address the host resolves to is public: no private, loopback, link-local (metadata),
  shared, multicast, reserved or unspecified ranges, also not when written as an IPv4-mapped
  IPv6 address or a number;
- except hosts on the allow-list ``ASKHUB_WEBHOOK_ALLOW_HOSTS`` (comma-separated host names,
  addresses or networks such as ``chat.corp.example,10.20.0.0/16``): on-premise chat may be
  internal, and may use ``http://``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass, field

import httpx

from askhub.settings import allow_hosts_from_env

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Messages a person sees on the profile page (English is the id; Dutch in askhub.web.i18n).
NEEDS_HTTPS = "use an https:// address for webhooks"
NO_HOST = "a webhook address needs a host name"
INTERNAL = (
    "this address points inside the network (private, loopback, link-local or metadata); "
    "AskHub does not send webhooks there"
)


class UnsafeWebhook(ValueError):
    """A webhook URL AskHub must not call."""


class UnresolvedHost(OSError):
    """The webhook's host name does not resolve (now): a temporary failure, not a refusal."""


def _address(value: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(value.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def is_public(address: IPAddress) -> bool:
    """Reachable on the internet, and not an internal range written in another form."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None:
            return is_public(embedded)
        if address.teredo is not None:
            return all(is_public(part) for part in address.teredo)
    return address.is_global and not address.is_multicast


@dataclass(frozen=True)
class WebhookPolicy:
    allow_hosts: tuple[str, ...] = ()
    _names: frozenset[str] = field(init=False, repr=False)
    _networks: tuple[IPNetwork, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        names: set[str] = set()
        networks: list[IPNetwork] = []
        for entry in self.allow_hosts:
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                names.add(entry.lower().rstrip("."))
        object.__setattr__(self, "_names", frozenset(names))
        object.__setattr__(self, "_networks", tuple(networks))

    @classmethod
    def from_env(cls) -> WebhookPolicy:
        return cls(allow_hosts_from_env())

    def _allowed(self, host: str, address: IPAddress | None = None) -> bool:
        if host.lower().rstrip(".") in self._names:
            return True
        address = address or _address(host)
        return address is not None and any(address in net for net in self._networks)

    def parse(self, url: str) -> httpx.URL:
        """The URL if its form is acceptable (scheme, host); UnsafeWebhook if not."""
        try:
            target = httpx.URL(url)
        except (httpx.InvalidURL, TypeError) as exc:
            raise UnsafeWebhook(NO_HOST) from exc
        if not target.host:
            raise UnsafeWebhook(NO_HOST)
        if target.scheme not in ("https", "http"):
            raise UnsafeWebhook(NEEDS_HTTPS)
        # Plain http only to allowed hosts; a name is judged by its addresses (``addresses``).
        literal = _address(target.host) is not None
        judged_later = bool(self._networks) and not literal
        if target.scheme == "http" and not self._allowed(target.host) and not judged_later:
            raise UnsafeWebhook(NEEDS_HTTPS)
        return target

    async def addresses(self, target: httpx.URL, seconds: float = 5.0) -> list[IPAddress]:
        """The addresses to connect to for ``target``, all checked; UnsafeWebhook if any is
        internal and not allowed, UnresolvedHost if the name does not resolve. Empty for a
        host allowed by name (connect to it as usual)."""
        host = target.host
        if host.lower().rstrip(".") in self._names:
            return []
        port = target.port or (443 if target.scheme == "https" else 80)
        loop = asyncio.get_running_loop()
        try:
            infos = await asyncio.wait_for(
                loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), seconds
            )
        except (OSError, TimeoutError) as exc:
            raise UnresolvedHost(f"{host} does not resolve: {exc}") from exc
        found: list[IPAddress] = []
        for info in infos:
            address = _address(str(info[4][0]))
            if address is None:
                continue
            allowed = self._allowed(host, address)
            if not is_public(address) and not allowed:
                raise UnsafeWebhook(INTERNAL)
            if target.scheme == "http" and not allowed:
                raise UnsafeWebhook(NEEDS_HTTPS)
            if address not in found:
                found.append(address)
        if not found:
            raise UnresolvedHost(f"{host} has no address")
        # IPv4 first: the request goes to the first address only (the one that was checked).
        return sorted(found, key=lambda address: address.version)

    async def check(self, url: str) -> None:
        """Save-time check: refuse what can be refused now. A name that does not resolve yet
        is accepted; every send checks again."""
        target = self.parse(url)
        try:
            await self.addresses(target)
        except UnresolvedHost:
            if target.scheme == "http" and not self._allowed(target.host):
                raise UnsafeWebhook(NEEDS_HTTPS) from None
