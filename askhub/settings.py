"""Settings from the environment (``ASKHUB_*``); see the README for the list."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

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


@dataclass(frozen=True)
class Settings:
    database_url: str = field(default_factory=database_url)
    data_dir: Path = field(default_factory=data_dir)
    model: str = field(default_factory=lambda: os.environ.get("ASKHUB_MODEL", DEFAULT_MODEL))
    embed_threads: int = field(default_factory=lambda: _int("ASKHUB_EMBED_THREADS", 2))
    host: str = field(default_factory=lambda: os.environ.get("ASKHUB_HOST", "127.0.0.1"))
    port: int = field(default_factory=lambda: _int("ASKHUB_PORT", 8000))
    # Larger request bodies get 413: calls and posts are text, not uploads.
    max_body_bytes: int = field(default_factory=lambda: _int("ASKHUB_MAX_BODY_BYTES", 256 * 1024))
    # How many matches a new call returns and stores.
    matches_per_call: int = field(default_factory=lambda: _int("ASKHUB_MATCHES_PER_CALL", 10))

    @property
    def index_path(self) -> Path:
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in self.model)
        return self.data_dir / "index" / f"{safe}.faiss"
