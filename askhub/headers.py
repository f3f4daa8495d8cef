"""Security headers on every response AskHub sends: pages, one-click link pages, the API,
errors raised before any route matched, and files (which keep their own caching)."""

from __future__ import annotations

from litestar.types import Message, Scope

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' https: data:; script-src 'self'; "
    "style-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    # Pages, link pages and API answers are personal: no shared or browser cache keeps them.
    # Responses that set their own (the static files) keep theirs.
    "Cache-Control": "no-store",
}
# The interactive API docs load their script from a CDN; they hold nothing personal.
_DOCS = "/schema"
# As ASGI carries them (lower-case bytes), encoded once: MutableScopeHeaders looked each name
# up and set it one at a time, a tenth of the CPU of a health check.
_ENCODED = [(name.lower().encode(), value.encode()) for name, value in SECURITY_HEADERS.items()]
_CSP = b"content-security-policy"


async def add_security_headers(message: Message, scope: Scope) -> None:
    if message["type"] != "http.response.start":
        return
    headers = list(message.get("headers") or ())
    present = {name.lower() for name, _ in headers}
    docs = str(scope.get("path", "")).startswith(_DOCS)
    for name, value in _ENCODED:
        if docs and name == _CSP:
            continue
        if name not in present:
            headers.append((name, value))
    message["headers"] = headers
