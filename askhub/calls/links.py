"""One-click links in nudges: signed, bound to one call, one person and one action, and expiring.

itsdangerous signs and timestamps them (HMAC), so a link works without logging in, cannot be
altered to act for someone else or on another call, and stops working after ``link_max_age``.
"""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from askhub.settings import Settings

ACTIONS = ("reply", "volunteer", "decline", "forward", "snooze")
_SALT = "askhub.call-action.v1"


class LinkError(ValueError):
    """The link is expired, altered or not for this use."""


@dataclass(frozen=True)
class ActionGrant:
    call_id: int
    person_id: int
    action: str


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.signing_key(), salt=_SALT)


def action_url(settings: Settings, call_id: int, person_id: int, action: str) -> str:
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    token = _serializer(settings).dumps({"c": call_id, "p": person_id, "a": action})
    return f"{settings.base_url}/act/{token}"


def read_action(settings: Settings, token: str) -> ActionGrant:
    try:
        data = _serializer(settings).loads(token, max_age=settings.link_max_age)
    except SignatureExpired as exc:
        raise LinkError("this link has expired; open AskHub to reply") from exc
    except BadSignature as exc:
        raise LinkError("this link is not valid") from exc
    if not isinstance(data, dict) or data.get("a") not in ACTIONS:
        raise LinkError("this link is not valid")
    return ActionGrant(call_id=int(data["c"]), person_id=int(data["p"]), action=str(data["a"]))
