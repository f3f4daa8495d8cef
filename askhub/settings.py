"""Settings from the environment (``ASKHUB_*``); see the README for the list."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from askhub.outbound import allow_hosts_from_env
from indexer.embedders import DEFAULT_MODEL
from models.db import data_dir, database_url


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SystemExit(f"askhub: {name} must be a whole number, got {raw!r}") from exc


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SystemExit(f"askhub: {name} must be true or false, got {raw!r}")


def _choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = os.environ.get(name, "").strip().lower() or default
    if raw not in choices:
        raise SystemExit(f"askhub: {name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


@dataclass(frozen=True)
class Settings:
    database_url: str = field(default_factory=database_url)
    data_dir: Path = field(default_factory=data_dir)
    model: str = field(default_factory=lambda: os.environ.get("ASKHUB_MODEL", DEFAULT_MODEL))
    embed_threads: int = field(default_factory=lambda: _int("ASKHUB_EMBED_THREADS", 1))
    host: str = field(default_factory=lambda: os.environ.get("ASKHUB_HOST", "127.0.0.1"))
    port: int = field(default_factory=lambda: _int("ASKHUB_PORT", 8000))
    # Larger request bodies get 413: calls and posts are text, not uploads.
    max_body_bytes: int = field(default_factory=lambda: _int("ASKHUB_MAX_BODY_BYTES", 256 * 1024))
    # How many matches a new call returns and stores (at least wave size x max waves).
    matches_per_call: int = field(default_factory=lambda: _int("ASKHUB_MATCHES_PER_CALL", 15))
    # Links in nudges and emails point here.
    base_url: str = field(
        default_factory=lambda: os.environ.get("ASKHUB_BASE_URL", "http://127.0.0.1:8000").rstrip(
            "/"
        )
    )
    # Signs the one-click links in nudges; generated into the data dir when not set.
    secret_key: str | None = field(default_factory=lambda: os.environ.get("ASKHUB_SECRET_KEY"))
    # The nudge loop. Seconds throughout, so tests can run the whole loop in seconds.
    scheduler: bool = field(default_factory=lambda: _bool("ASKHUB_SCHEDULER", True))
    tick_seconds: int = field(default_factory=lambda: _int("ASKHUB_TICK_SECONDS", 30))
    wave_size: int = field(default_factory=lambda: _int("ASKHUB_WAVE_SIZE", 5))
    wave_interval: int = field(default_factory=lambda: _int("ASKHUB_WAVE_INTERVAL", 4 * 3600))
    max_waves: int = field(default_factory=lambda: _int("ASKHUB_MAX_WAVES", 3))
    reminder_after: int = field(default_factory=lambda: _int("ASKHUB_REMINDER_AFTER", 24 * 3600))
    digest_interval: int = field(default_factory=lambda: _int("ASKHUB_DIGEST_INTERVAL", 24 * 3600))
    snooze_seconds: int = field(default_factory=lambda: _int("ASKHUB_SNOOZE_SECONDS", 24 * 3600))
    link_max_age: int = field(default_factory=lambda: _int("ASKHUB_LINK_MAX_AGE", 14 * 24 * 3600))
    # Reach (askhub/calls/reach.py). Priors of the share of people asked who reply usefully,
    # in ten-thousandths: a volunteer sign-up, an answer to a question. Each organisation's own
    # earlier calls replace them as they accumulate.
    volunteer_rate_bp: int = field(default_factory=lambda: _int("ASKHUB_VOLUNTEER_RATE_BP", 500))
    answer_rate_bp: int = field(default_factory=lambda: _int("ASKHUB_ANSWER_RATE_BP", 3000))
    # Mean seconds from an ask to its reply (replies are taken to arrive at a steady rate).
    reply_delay: int = field(default_factory=lambda: _int("ASKHUB_REPLY_DELAY", 24 * 3600))
    # At most this many people are asked by one volunteers wave (the next wave asks more).
    max_asks_per_wave: int = field(default_factory=lambda: _int("ASKHUB_MAX_ASKS_PER_WAVE", 5000))
    # A question without a deadline closes this long after it was posted (or reopened), with
    # its summary to the asker (0: never).
    close_undated_after: int = field(
        default_factory=lambda: _int("ASKHUB_CLOSE_UNDATED_AFTER", 30 * 24 * 3600)
    )
    # People with this many unanswered asks on open calls are skipped (spreads the load).
    max_open_asks: int = field(default_factory=lambda: _int("ASKHUB_MAX_OPEN_ASKS", 2))
    retry_base_seconds: int = field(default_factory=lambda: _int("ASKHUB_RETRY_BASE_SECONDS", 30))
    max_attempts: int = field(default_factory=lambda: _int("ASKHUB_MAX_ATTEMPTS", 6))
    # How long a claimed outbox row belongs to the process sending it; a row left in "sending"
    # by a process that died is retried after this. Keep it well above one send's timeout.
    dispatch_lease_seconds: int = field(
        default_factory=lambda: _int("ASKHUB_DISPATCH_LEASE_SECONDS", 120)
    )
    # Routing. A fitted ranker needs this many earlier answered questions; below it the
    # hand-set weights rank (see README "Routing").
    min_fit_questions: int = field(default_factory=lambda: _int("ASKHUB_MIN_FIT_QUESTIONS", 50))
    # The relevance floor: nobody is asked whose calibrated chance of answering is below this
    # many in ten thousand, or who has no topical evidence at all.
    min_p_answer_bp: int = field(default_factory=lambda: _int("ASKHUB_MIN_P_ANSWER_BP", 20))
    # Hours between refits of the ranker by the scheduler (0: never refit automatically).
    refit_hours: int = field(default_factory=lambda: _int("ASKHUB_REFIT_HOURS", 24))
    # Email is sent only when an SMTP host is configured (see askhub/nudges/channels/email.py).
    smtp_enabled: bool = field(default_factory=lambda: bool(os.environ.get("ASKHUB_SMTP_HOST")))
    # What the trusted sign-in header (ASKHUB_AUTH_HEADER) carries: a handle or an email
    # address. With "email" the address is who someone is: people cannot change their own.
    auth_header_field: str = field(
        default_factory=lambda: _choice("ASKHUB_AUTH_HEADER_FIELD", "handle", ("handle", "email"))
    )
    # Webhooks are signed; they are sent only when a signing secret is configured.
    webhook_enabled: bool = field(
        default_factory=lambda: bool(os.environ.get("ASKHUB_WEBHOOK_SECRET"))
    )
    # Webhook URLs must be https to public addresses, except these hosts, addresses or
    # networks (comma-separated), e.g. on-premise chat: see askhub/outbound.py.
    webhook_allow_hosts: tuple[str, ...] = field(default_factory=allow_hosts_from_env)

    def signing_key(self) -> str:
        """The configured secret, or one generated once and kept in the data dir."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
        return path.read_text().strip()

    @property
    def index_path(self) -> Path:
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in self.model)
        return self.data_dir / "index" / f"{safe}.faiss"
