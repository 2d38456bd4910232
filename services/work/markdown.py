"""Markdown as safe HTML: the one renderer for comments and task descriptions.

markdown-it-py (CommonMark) with raw HTML off, so every `<` a user types comes out escaped; images
off (a remote image would tell its host who reads the task); links only to http, https and mailto
(no `javascript:` or `data:`), opening in a new tab with `rel="noopener noreferrer nofollow"`.
What comes out is an HTML fragment safe to put into the page as is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

SAFE_SCHEMES = ("http://", "https://", "mailto:")
LINK_REL = "noopener noreferrer nofollow"


def _valid_link(url: str) -> bool:
    return url.strip().lower().startswith(SAFE_SCHEMES)


def _link_open(renderer: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    token.attrSet("rel", LINK_REL)
    token.attrSet("target", "_blank")
    rendered: str = renderer.renderToken(tokens, idx, options, env)
    return rendered


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.disable(["image", "html_block", "html_inline"])
    md.validateLink = _valid_link  # type: ignore[method-assign]
    md.add_render_rule("link_open", _link_open)
    return md


_MD = _parser()


def render_markdown(text: str) -> str:
    """`text` (markdown typed by a user) as a safe HTML fragment."""
    html: str = _MD.render(text)
    return html
