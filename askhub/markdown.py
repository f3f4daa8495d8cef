"""Markdown for calls, replies and posts: CommonMark with raw HTML off and safe links only."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from markupsafe import Markup

SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
_SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):")
# Browsers ignore ASCII whitespace and control characters inside a scheme ("java\tscript:").
_IGNORED = re.compile(r"[\x00-\x20\x7f]+")


def safe_link(url: str) -> bool:
    """http, https and mailto links, and relative ones; never javascript:, data:, vbscript: …"""
    cleaned = _IGNORED.sub("", unquote(url)).lower()
    found = _SCHEME.match(cleaned)
    return found is None or found.group(1) in SAFE_SCHEMES


class SafeMarkdown(MarkdownIt):
    def validateLink(self, url: str) -> bool:
        return safe_link(url)


def _link_open(
    self: RendererHTML,
    tokens: Sequence[Token],
    idx: int,
    options: OptionsDict,
    env: EnvType,
) -> str:
    tokens[idx].attrSet("rel", "nofollow noopener noreferrer")
    return self.renderToken(tokens, idx, options, env)


def _build() -> SafeMarkdown:
    md = SafeMarkdown("commonmark", {"html": False})
    md.add_render_rule("link_open", _link_open)
    return md


_MD = _build()


def render_markdown(text: Any) -> Markup:
    """HTML for ``text``; safe to put into a page as it is."""
    return Markup(_MD.render(str(text or "")))
