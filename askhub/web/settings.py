"""Settings of the web pages, from the environment (``ASKHUB_*``), next to ``askhub.settings``.

| variable | default | meaning |
|---|---|---|
| ``ASKHUB_AUTH_HEADER`` | unset | trusted header mode: the header (e.g. ``X-Forwarded-User``) that a single
  sign-on proxy sets to the signed-in person's handle; passwords are then not used. Only safe
  when the proxy strips the header from what clients send. |
| ``ASKHUB_AUTH_HEADER_FIELD`` | ``handle`` | what that header carries: ``handle`` or ``email``; it
  must name exactly one person (emails are unique in any case), or the page is refused. |
| ``ASKHUB_SESSION_MAX_AGE`` | ``1209600`` | seconds a web sign-in lasts (14 days) |
| ``ASKHUB_LOGIN_MAX_FAILURES`` | ``5`` | failed sign-ins per handle (and failed current-password
  checks per person) … |
| ``ASKHUB_LOGIN_MAX_FAILURES_PER_ADDRESS`` | ``20`` | … and per client address, whatever the
  handles … |
| ``ASKHUB_LOGIN_WINDOW`` | ``300`` | … within this many seconds before HTTP 429 |
| ``ASKHUB_TRUSTED_PROXIES`` | unset | addresses or networks (``10.0.0.0/8, ::1``) of reverse
  proxies whose ``X-Forwarded-For`` tells the client's address; from anyone else the header is
  ignored. |

Session cookies are ``Secure`` when ``ASKHUB_BASE_URL`` starts with ``https://``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from askhub.auth.service import Network, parse_networks
from askhub.settings import Settings


def _int(name: str, default: int, minimum: int = 1) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise SystemExit(f"askhub: {name} must be a whole number, got {raw!r}") from exc
    if value < minimum:
        raise SystemExit(f"askhub: {name} must be at least {minimum}, got {value}")
    return value


def _networks(name: str) -> tuple[Network, ...]:
    try:
        return parse_networks(os.environ.get(name, ""))
    except ValueError as exc:
        raise SystemExit(f"askhub: {name}: {exc}") from exc


@dataclass(frozen=True)
class WebSettings:
    auth_header: str | None = None
    auth_header_field: str = "handle"
    secure_cookies: bool = False
    session_max_age: int = 14 * 24 * 3600
    login_max_failures: int = 5
    login_max_failures_per_address: int = 20
    login_window: int = 300
    trusted_proxies: tuple[Network, ...] = ()

    @classmethod
    def from_env(cls, settings: Settings) -> WebSettings:
        header = os.environ.get("ASKHUB_AUTH_HEADER", "").strip() or None
        return cls(
            auth_header=header,
            auth_header_field=settings.auth_header_field,
            secure_cookies=settings.base_url.lower().startswith("https://"),
            session_max_age=_int("ASKHUB_SESSION_MAX_AGE", 14 * 24 * 3600),
            login_max_failures=_int("ASKHUB_LOGIN_MAX_FAILURES", 5),
            login_max_failures_per_address=_int("ASKHUB_LOGIN_MAX_FAILURES_PER_ADDRESS", 20),
            login_window=_int("ASKHUB_LOGIN_WINDOW", 300),
            trusted_proxies=_networks("ASKHUB_TRUSTED_PROXIES"),
        )
