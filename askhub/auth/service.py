"""Bearer tokens. Random 256-bit secrets, so a fast SHA-256 is the right stored form (a slow
password hash buys nothing against guessing 2^256, and would slow every request)."""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import ApiToken, Person

TOKEN_PREFIX = "ah_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_token(session: AsyncSession, person: Person) -> str:
    """A new token for ``person``; only its hash is stored, so it is shown once."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(person_id=person.id, token_hash=hash_token(token)))
    await session.flush()
    return token


async def person_for_token(session: AsyncSession, token: str) -> Person | None:
    row = (
        await session.execute(
            select(ApiToken, Person)
            .join(Person, Person.id == ApiToken.person_id)
            .where(ApiToken.token_hash == hash_token(token))
        )
    ).first()
    if row is None:
        return None
    api_token, person = row
    api_token.last_used_at = datetime.now(UTC)
    return person


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(raw: str) -> tuple[Network, ...]:
    """``"10.0.0.1, 192.168.0.0/16, ::1"`` → networks; ValueError names a bad entry."""
    networks = []
    for part in raw.replace(";", ",").split(","):
        item = part.strip()
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise ValueError(f"{item!r} is not an IP address or network") from exc
    return tuple(networks)


def _trusted(address: str, trusted: Sequence[Network]) -> bool | None:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    return any(ip in network for network in trusted)


def client_address(
    peer: str | None, forwarded_for: Iterable[str], trusted: Sequence[Network]
) -> str:
    """The address a request came from, for limits and logs.

    ``X-Forwarded-For`` is believed only as far as trusted proxies wrote it: when the peer is
    one, its hops are read from the right (nearest first), skipping trusted proxies; the first
    address that is not one is the client. Without trusted proxies (the default) the header is
    ignored: anyone can write it."""
    if not peer:
        return "?"
    if not trusted or not _trusted(peer, trusted):
        return peer
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",") if hop.strip()]
    nearest = peer
    for hop in reversed(hops):
        verdict = _trusted(hop, trusted)
        if verdict is None:  # not an address: the chain is broken here
            return nearest
        if not verdict:
            return hop
        nearest = hop
    return nearest
