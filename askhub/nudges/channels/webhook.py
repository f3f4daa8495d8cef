"""Webhook channel: one signed JSON POST per message, Slack-compatible and Teams-tolerant.

The body has ``text`` (shown by Teams and as Slack's notification fallback), ``blocks`` (Slack
Block Kit) and ``askhub`` (the message as data, for custom receivers). Every request carries:

- ``X-AskHub-Idempotency-Key``: the same on every retry of one message; drop a key you have seen.
- ``X-AskHub-Timestamp``: unix seconds when this attempt was signed.
- ``X-AskHub-Signature``: ``sha256=<hex>``, the HMAC-SHA256 keyed with the shared secret
  (``ASKHUB_WEBHOOK_SECRET``, UTF-8) over the bytes ``<timestamp>.<raw body>``: the timestamp
  header exactly as sent, a dot, then the request body exactly as received (do not re-serialise
  the JSON).

To verify, recompute the signature, compare in constant time, and reject timestamps more than a
few minutes from now so a captured request cannot be replayed; ``verify_signature`` does all of
it. The channel makes a single attempt per ``send``: the outbox retries with backoff.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import httpx

from askhub.i18n import translator
from askhub.nudges.channels.base import DeliveryError, OutboundMessage
from askhub.outbound import UnresolvedHost, UnsafeWebhook, WebhookPolicy
from askhub.settings import WebhookSettings

__all__ = ["WebhookChannel", "WebhookSettings", "build_payload", "sign", "verify_signature"]

# Slack Block Kit limits; longer text makes Slack reject the whole payload with 400.
_HEADER_MAX = 150
_SECTION_MAX = 3000
_BUTTON_TEXT_MAX = 75
_BUTTONS_MAX = 25


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-AskHub-Signature`` value for a body sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify_signature(
    secret: str,
    timestamp: str | int,
    body: bytes | str,
    signature: str,
    max_age: int = 300,
) -> bool:
    """True if ``signature`` was made with ``secret`` for this body within ``max_age`` seconds."""
    try:
        sent_at = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs(time.time() - sent_at) > max_age:
        return False
    raw = body.encode() if isinstance(body, str) else body
    expected = sign(secret, str(timestamp), raw)
    return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _mrkdwn(text: str) -> str:
    # Slack's only required escapes; without them "<script>" or "<!channel>" would be markup.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _clip(text, _SECTION_MAX)}}


def _blocks(message: OutboundMessage) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if message.subject.strip():
        header = {"type": "plain_text", "text": _clip(message.subject, _HEADER_MAX)}
        blocks.append({"type": "header", "text": header})
    # Slack rejects sections with empty text, so absent parts are left out.
    for text in (message.intro, message.body):
        if text.strip():
            blocks.append(_section(_mrkdwn(text)))
    if message.items:
        blocks.append(_section("\n".join(f"• {_mrkdwn(item)}" for item in message.items)))
    if message.reasons:
        reasons = "\n".join(f"• {_mrkdwn(reason)}" for reason in message.reasons)
        why = translator(message.language)("Why you")
        blocks.append(_section(f"*{why}*\n{reasons}"))
    if message.links:
        buttons = [
            {
                "type": "button",
                "text": {"type": "plain_text", "text": _clip(link.label, _BUTTON_TEXT_MAX)},
                "url": link.url,
                "action_id": f"askhub-link-{index}",
            }
            for index, link in enumerate(message.links[:_BUTTONS_MAX])
        ]
        blocks.append({"type": "actions", "elements": buttons})
    return blocks


def build_payload(message: OutboundMessage) -> dict[str, Any]:
    """The JSON document posted for ``message``."""
    text = f"{message.subject} — {message.intro}" if message.intro else message.subject
    return {
        "text": text,
        "blocks": _blocks(message),
        "askhub": {
            "kind": message.kind,
            "idempotency_key": message.idempotency_key,
            "subject": message.subject,
            "intro": message.intro,
            "body": message.body,
            "reasons": list(message.reasons),
            "links": [{"label": link.label, "url": link.url} for link in message.links],
            "items": list(message.items),
            "recipient": message.recipient.handle,
        },
    }


class WebhookChannel:
    name = "webhook"

    def __init__(self, settings: WebhookSettings | None = None) -> None:
        self.settings = settings or WebhookSettings.from_env()
        if not self.settings.secret:
            raise ValueError("ASKHUB_WEBHOOK_SECRET must be set to send signed webhooks")
        self.policy = WebhookPolicy(self.settings.allow_hosts)
        # One client per channel: connections to the same receiver are pooled across sends.
        self._client = httpx.AsyncClient(timeout=self.settings.timeout, follow_redirects=False)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def send(self, message: OutboundMessage) -> None:
        url = message.recipient.webhook_url
        if not url:
            raise DeliveryError(f"{message.recipient.handle} has no webhook URL", permanent=True)
        body = json.dumps(build_payload(message), ensure_ascii=False).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-AskHub-Idempotency-Key": message.idempotency_key,
            "X-AskHub-Timestamp": timestamp,
            "X-AskHub-Signature": sign(self.settings.secret, timestamp, body),
        }
        # Errors name the host only: Slack and Teams webhook URLs carry their secret in the path.
        try:
            target = self.policy.parse(url)
            addresses = await self.policy.addresses(target, self.settings.timeout)
        except UnsafeWebhook as exc:
            raise DeliveryError(f"webhook URL refused: {exc}", permanent=True) from exc
        except UnresolvedHost as exc:
            raise DeliveryError(f"webhook to {target.host} failed: {exc}") from exc
        extensions: dict[str, str] = {}
        if addresses:
            # Connect to the address just checked; TLS still verifies the host's name.
            headers["Host"] = target.netloc.decode("ascii")
            extensions["sni_hostname"] = target.host
            target = target.copy_with(host=str(addresses[0]))
        try:
            response = await self._client.post(
                target, content=body, headers=headers, extensions=extensions
            )
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise DeliveryError(f"invalid webhook URL: {exc}", permanent=True) from exc
        except httpx.HTTPError as exc:  # connection refused, reset, timeout
            host = extensions.get("sni_hostname", target.host)
            raise DeliveryError(
                f"webhook to {host} failed: {type(exc).__name__}: {exc}", permanent=False
            ) from exc
        status = response.status_code
        if 200 <= status < 300:
            return
        # 408/429/5xx are the receiver's momentary state; other codes mean this request is wrong.
        temporary = status in (408, 429) or status >= 500
        raise DeliveryError(
            f"webhook to {headers.get('Host', target.host)} answered {status} "
            f"{response.reason_phrase}",
            permanent=not temporary,
        )
