"""Markdown for the pages: see :mod:`askhub.markdown` (shared with the one-click pages)."""

from askhub.markdown import SAFE_SCHEMES, render_markdown, safe_link

__all__ = ["SAFE_SCHEMES", "render_markdown", "safe_link"]
