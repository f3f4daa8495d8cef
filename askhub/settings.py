"""Every setting AskHub reads from the environment (``ASKHUB_*``), in one tree, with ranges.

This is the only module that reads ``ASKHUB_*`` variables (``models.db`` keeps the database's
own two, ``ASKHUB_DATABASE_URL`` and ``ASKHUB_DATA_DIR``, which Alembic needs without the
service). A value that is not of the right kind or outside its range raises ``SettingError``
naming the variable and what it accepts; the CLI prints it as one line and exits with code 2.
The README's configuration table lists them all.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from askhub.validation import Worded
from indexer.embedders import DEFAULT_MODEL
from models.db import data_dir, database_url

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
DAY = 24 * 3600
# ASKHUB_APPROXIMATE_ABOVE's default (measured: README "Speed").
APPROXIMATE_ABOVE = 100_000


class SettingError(Worded, ValueError):
    """A setting with a value AskHub cannot use; the message names the variable, in the
    terminal's language where the CLI reports it."""

    def __init__(self, message: str, **values: Any) -> None:
        super().__init__(self._word(message, values))


def _raw(name: str) -> str:
    return os.environ.get(name, "").strip()


def _text(name: str, default: str) -> str:
    return _raw(name) or default


def _int(name: str, default: int, low: int = 1, high: int = 2**31 - 1) -> int:
    raw = _raw(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise SettingError(
            "{name} must be a whole number from {low} to {high}, got {raw}",
            name=name,
            low=low,
            high=high,
            raw=repr(raw),
        )
    return value


def _float(name: str, default: float, low: float, high: float) -> float:
    raw = _raw(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise SettingError(
            "{name} must be a number from {low} to {high}, got {raw}",
            name=name,
            low=f"{low:g}",
            high=f"{high:g}",
            raw=repr(raw),
        )
    return value


def _bool(name: str, default: bool) -> bool:
    raw = _raw(name).lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SettingError("{name} must be true or false, got {raw}", name=name, raw=repr(raw))


def _choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = _raw(name).lower() or default
    if raw not in choices:
        raise SettingError(
            "{name} must be one of {choices}, got {raw}",
            name=name,
            choices=", ".join(choices),
            raw=repr(raw),
        )
    return raw


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


def _networks(name: str) -> tuple[Network, ...]:
    try:
        return parse_networks(_raw(name))
    except ValueError as exc:
        raise SettingError("{name}: {error}", name=name, error=exc) from exc


def allow_hosts_from_env() -> tuple[str, ...]:
    """``ASKHUB_WEBHOOK_ALLOW_HOSTS``: hosts, addresses or networks webhooks may reach inside."""
    raw = os.environ.get("ASKHUB_WEBHOOK_ALLOW_HOSTS", "")
    return tuple(part.strip().lower() for part in raw.split(",") if part.strip())


DEFAULT_SENDER = "AskHub <askhub@localhost>"


def delivery_concurrency() -> int:
    """ASKHUB_DELIVERY_CONCURRENCY: messages the dispatch tick has in flight at once (SMTP
    sessions, webhook requests); a process killed mid-round may resend that many."""
    return _int("ASKHUB_DELIVERY_CONCURRENCY", 1, 1, 64)


@dataclass(frozen=True)
class EmailSettings:
    """The SMTP server email nudges go through (``ASKHUB_SMTP_*``)."""

    host: str = "127.0.0.1"
    port: int = 25
    sender: str = DEFAULT_SENDER
    username: str | None = None
    password: str | None = None
    # STARTTLS upgrade after connecting (usually port 587).
    starttls: bool = False
    # TLS from the first byte (usually port 465).
    use_tls: bool = False
    timeout: float = 10.0
    # Sessions open at once at most: as many as the dispatch tick has messages in flight.
    sessions: int = 1

    def __post_init__(self) -> None:
        if self.starttls and self.use_tls:
            raise SettingError("ASKHUB_SMTP_STARTTLS and ASKHUB_SMTP_TLS exclude each other")

    @classmethod
    def from_env(cls) -> EmailSettings:
        return cls(
            host=_text("ASKHUB_SMTP_HOST", "127.0.0.1"),
            port=_int("ASKHUB_SMTP_PORT", 25, 1, 65535),
            sender=_text("ASKHUB_SMTP_FROM", DEFAULT_SENDER),
            username=_raw("ASKHUB_SMTP_USER") or None,
            password=os.environ.get("ASKHUB_SMTP_PASSWORD") or None,
            starttls=_bool("ASKHUB_SMTP_STARTTLS", False),
            use_tls=_bool("ASKHUB_SMTP_TLS", False),
            timeout=_float("ASKHUB_SMTP_TIMEOUT", 10.0, 0.1, 600),
            sessions=delivery_concurrency(),
        )


@dataclass(frozen=True)
class WebhookSettings:
    """Signed webhooks (``ASKHUB_WEBHOOK_*``)."""

    secret: str
    timeout: float = 5.0
    # ASKHUB_WEBHOOK_ALLOW_HOSTS: internal hosts or networks that may receive webhooks.
    allow_hosts: tuple[str, ...] = ()

    @classmethod
    def from_env(cls) -> WebhookSettings:
        return cls(
            secret=os.environ.get("ASKHUB_WEBHOOK_SECRET", ""),
            timeout=_float("ASKHUB_WEBHOOK_TIMEOUT", 5.0, 0.1, 600),
            allow_hosts=allow_hosts_from_env(),
        )


@dataclass(frozen=True)
class Settings:
    database_url: str = field(default_factory=database_url)
    data_dir: Path = field(default_factory=data_dir)
    model: str = field(default_factory=lambda: _text("ASKHUB_MODEL", DEFAULT_MODEL))
    embed_threads: int = field(default_factory=lambda: _int("ASKHUB_EMBED_THREADS", 1, 1, 64))
    host: str = field(default_factory=lambda: _text("ASKHUB_HOST", "127.0.0.1"))
    port: int = field(default_factory=lambda: _int("ASKHUB_PORT", 8000, 1, 65535))
    # AskHub's own log lines (logfmt on stderr): ``info`` has a line per request and per tick
    # that did something; ``debug`` adds the idle ticks; ``warning`` keeps only problems.
    log_level: str = field(
        default_factory=lambda: _choice(
            "ASKHUB_LOG_LEVEL", "info", ("debug", "info", "warning", "error")
        )
    )
    # Larger request bodies get 413: calls and posts are text, not uploads.
    max_body_bytes: int = field(
        default_factory=lambda: _int("ASKHUB_MAX_BODY_BYTES", 256 * 1024, 1024, 100 * 1024 * 1024)
    )
    # How many matches a new call returns and stores (at least wave size x max waves).
    matches_per_call: int = field(
        default_factory=lambda: _int("ASKHUB_MATCHES_PER_CALL", 15, 1, 1000)
    )
    # Links in nudges and emails point here.
    base_url: str = field(
        default_factory=lambda: _text("ASKHUB_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
    )
    # Signs the one-click links in nudges; generated into the data dir when not set.
    secret_key: str | None = field(default_factory=lambda: _raw("ASKHUB_SECRET_KEY") or None)
    # The nudge loop. Seconds throughout, so tests can run the whole loop in seconds.
    scheduler: bool = field(default_factory=lambda: _bool("ASKHUB_SCHEDULER", True))
    tick_seconds: int = field(default_factory=lambda: _int("ASKHUB_TICK_SECONDS", 30, 1, DAY))
    wave_size: int = field(default_factory=lambda: _int("ASKHUB_WAVE_SIZE", 5, 1, 1000))
    wave_interval: int = field(
        default_factory=lambda: _int("ASKHUB_WAVE_INTERVAL", 4 * 3600, 1, 365 * DAY)
    )
    max_waves: int = field(default_factory=lambda: _int("ASKHUB_MAX_WAVES", 3, 1, 100))
    reminder_after: int = field(
        default_factory=lambda: _int("ASKHUB_REMINDER_AFTER", 24 * 3600, 1, 365 * DAY)
    )
    digest_interval: int = field(
        default_factory=lambda: _int("ASKHUB_DIGEST_INTERVAL", 24 * 3600, 60, 365 * DAY)
    )
    snooze_seconds: int = field(
        default_factory=lambda: _int("ASKHUB_SNOOZE_SECONDS", 24 * 3600, 1, 365 * DAY)
    )
    link_max_age: int = field(
        default_factory=lambda: _int("ASKHUB_LINK_MAX_AGE", 14 * 24 * 3600, 60, 365 * DAY)
    )
    # Reach (askhub/calls/reach.py). Priors of the share of people asked who reply usefully,
    # in ten-thousandths: a volunteer sign-up, an answer to a question. Each organisation's own
    # earlier calls replace them as they accumulate.
    volunteer_rate_bp: int = field(
        default_factory=lambda: _int("ASKHUB_VOLUNTEER_RATE_BP", 500, 1, 10000)
    )
    answer_rate_bp: int = field(
        default_factory=lambda: _int("ASKHUB_ANSWER_RATE_BP", 3000, 1, 10000)
    )
    # Mean seconds from an ask to its reply (replies are taken to arrive at a steady rate).
    reply_delay: int = field(
        default_factory=lambda: _int("ASKHUB_REPLY_DELAY", 24 * 3600, 60, 365 * DAY)
    )
    # At most this many people are asked by one volunteers wave (the next wave asks more).
    max_asks_per_wave: int = field(
        default_factory=lambda: _int("ASKHUB_MAX_ASKS_PER_WAVE", 5000, 1, 1_000_000)
    )
    # A question without a deadline closes this long after it was posted (or reopened), with
    # its summary to the asker (0: never).
    close_undated_after: int = field(
        default_factory=lambda: _int("ASKHUB_CLOSE_UNDATED_AFTER", 30 * 24 * 3600, 0, 3650 * DAY)
    )
    # Introductions a manager (or admin) may make in any 7 days (askhub/calls/introductions.py);
    # they count against this budget only, never the weekly budget of the people introduced.
    introductions_per_week: int = field(
        default_factory=lambda: _int("ASKHUB_INTRODUCTIONS_PER_WEEK", 10, 0, 1000)
    )
    # The dashboard (askhub/dashboard): the period shown when none is chosen, in days; how
    # long a volunteers call short of its number may go without a new volunteer before it
    # is listed as stalled; and whether managers get their department's figures weekly.
    dashboard_days: int = field(default_factory=lambda: _int("ASKHUB_DASHBOARD_DAYS", 28, 1, 1098))
    stalled_after: int = field(
        default_factory=lambda: _int("ASKHUB_STALLED_AFTER", 2 * DAY, 60, 365 * DAY)
    )
    manager_digest: bool = field(default_factory=lambda: _bool("ASKHUB_MANAGER_DIGEST", True))
    # People with this many unanswered asks on open calls are skipped (spreads the load).
    max_open_asks: int = field(default_factory=lambda: _int("ASKHUB_MAX_OPEN_ASKS", 2, 1, 1000))
    retry_base_seconds: int = field(
        default_factory=lambda: _int("ASKHUB_RETRY_BASE_SECONDS", 30, 1, DAY)
    )
    max_attempts: int = field(default_factory=lambda: _int("ASKHUB_MAX_ATTEMPTS", 6, 1, 100))
    # How long a claimed outbox row belongs to the process sending it; a row left in "sending"
    # by a process that died is retried after this. Keep it well above one send's timeout.
    dispatch_lease_seconds: int = field(
        default_factory=lambda: _int("ASKHUB_DISPATCH_LEASE_SECONDS", 120, 1, DAY)
    )
    delivery_concurrency: int = field(default_factory=delivery_concurrency)
    # A dispatch round takes no new batch after this long; what is still due waits for the
    # next round, so one round never runs on for long (and its log line says what is left).
    tick_budget_seconds: float = field(
        default_factory=lambda: _float("ASKHUB_TICK_BUDGET_SECONDS", 20.0, 0.001, DAY)
    )
    # Routing. A fitted ranker needs this many earlier answered questions; below it the
    # hand-set weights rank (see README "Routing").
    min_fit_questions: int = field(
        default_factory=lambda: _int("ASKHUB_MIN_FIT_QUESTIONS", 50, 1, 10_000_000)
    )
    # The relevance floor: nobody is asked whose calibrated chance of answering is below this
    # many in ten thousand, or who has no topical evidence at all.
    min_p_answer_bp: int = field(
        default_factory=lambda: _int("ASKHUB_MIN_P_ANSWER_BP", 20, 0, 10_000)
    )
    # Hours between refits of the ranker by the scheduler (0: never refit automatically).
    refit_hours: int = field(default_factory=lambda: _int("ASKHUB_REFIT_HOURS", 24, 0, 8760))
    # How many of the newest index_change rows the scheduler keeps; older ones are pruned. A
    # process that had not replayed a pruned row rebuilds its index from the stored vectors.
    index_changes_kept: int = field(
        default_factory=lambda: _int("ASKHUB_INDEX_CHANGES_KEPT", 20_000, 1, 100_000_000)
    )
    # The index follower (askhub/routing/follower.py): seconds between its polls of the change
    # log's head (on PostgreSQL NOTIFY wakes it sooner; the poll covers a missed notification),
    # and between its audits, which count the stored vectors to catch a replica out of step
    # (0: never).
    index_poll_seconds: int = field(
        default_factory=lambda: _int("ASKHUB_INDEX_POLL_SECONDS", 5, 1, DAY)
    )
    index_audit_seconds: int = field(
        default_factory=lambda: _int("ASKHUB_INDEX_AUDIT_SECONDS", 600, 0, 365 * DAY)
    )
    # Above this many passage vectors the routing index searches approximately (IVF-Flat),
    # built in the background from the stored vectors while exact search keeps serving; 0:
    # always exact. See README "Speed" for how the default was chosen.
    approximate_above: int = field(
        default_factory=lambda: _int("ASKHUB_APPROXIMATE_ABOVE", APPROXIMATE_ABOVE, 0, 2**31 - 1)
    )
    # Inverted lists the approximate index scans per query: more is slower and finds more.
    nprobe: int = field(default_factory=lambda: _int("ASKHUB_NPROBE", 32, 1, 65_536))
    # Email is sent only when an SMTP host is configured (see askhub/nudges/channels/email.py).
    smtp_enabled: bool = field(default_factory=lambda: bool(_raw("ASKHUB_SMTP_HOST")))
    # What the trusted sign-in header (ASKHUB_AUTH_HEADER) carries: a handle or an email
    # address. With "email" the address is who someone is: people cannot change their own.
    auth_header_field: str = field(
        default_factory=lambda: _choice("ASKHUB_AUTH_HEADER_FIELD", "handle", ("handle", "email"))
    )
    # Webhooks are signed; they are sent only when a signing secret is configured.
    webhook_enabled: bool = field(default_factory=lambda: bool(_raw("ASKHUB_WEBHOOK_SECRET")))
    # Webhook URLs must be https to public addresses, except these hosts, addresses or
    # networks (comma-separated), e.g. on-premise chat: see askhub/outbound.py.
    webhook_allow_hosts: tuple[str, ...] = field(default_factory=allow_hosts_from_env)

    def signing_key(self) -> str:
        """The configured secret, or one generated once and kept in the data dir."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret.key"
        if not path.exists():
            # Several processes may start at once on a fresh data dir: the key is written to a
            # file of this process's own, then linked into place, which fails if another
            # process was first (its key is used). Nobody ever reads a half-written key.
            path.parent.mkdir(parents=True, exist_ok=True)
            mine = path.with_name(f".secret.key.{os.getpid()}.{secrets.token_hex(4)}")
            fd = os.open(mine, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
            try:
                os.link(mine, path)
            except FileExistsError:
                pass
            finally:
                mine.unlink()
        return path.read_text().strip()

    @property
    def index_path(self) -> Path:
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in self.model)
        return self.data_dir / "index" / f"{safe}.faiss"


@dataclass(frozen=True)
class WebSettings:
    """The web pages' sign-in and proxy settings (see the README's configuration table)."""

    auth_header: str | None = None
    auth_header_field: str = "handle"
    secure_cookies: bool = False
    session_max_age: int = 14 * DAY
    login_max_failures: int = 5
    login_max_failures_per_address: int = 20
    login_window: int = 300
    trusted_proxies: tuple[Network, ...] = ()

    @classmethod
    def from_env(cls, settings: Settings) -> WebSettings:
        return cls(
            auth_header=_raw("ASKHUB_AUTH_HEADER") or None,
            auth_header_field=settings.auth_header_field,
            secure_cookies=settings.base_url.lower().startswith("https://"),
            session_max_age=_int("ASKHUB_SESSION_MAX_AGE", 14 * DAY, 60, 365 * DAY),
            login_max_failures=_int("ASKHUB_LOGIN_MAX_FAILURES", 5, 1, 1000),
            login_max_failures_per_address=_int(
                "ASKHUB_LOGIN_MAX_FAILURES_PER_ADDRESS", 20, 1, 100_000
            ),
            login_window=_int("ASKHUB_LOGIN_WINDOW", 300, 1, DAY),
            trusted_proxies=_networks("ASKHUB_TRUSTED_PROXIES"),
        )


def load() -> Settings:
    """Read and check the whole tree at start, so a bad value stops the process at once
    rather than when a channel or page first needs it."""
    settings = Settings()
    WebSettings.from_env(settings)
    if settings.smtp_enabled:
        EmailSettings.from_env()
    if settings.webhook_enabled:
        WebhookSettings.from_env()
    return settings
