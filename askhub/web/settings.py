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

from askhub.settings import WebSettings

__all__ = ["WebSettings"]
