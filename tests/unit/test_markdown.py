"""services.work.render_markdown: user markdown becomes HTML that can go into the page as is."""

from __future__ import annotations

import pytest

from services.work import render_markdown

ATTACKS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](data:text/html;base64,PHNjcmlwdD4=)",
    "<javascript:alert(1)>",
    '[q](https://a.example "t\\" onmouseover=alert(1)")',
    "![i](https://tracker.example/pixel.png)",
    "<iframe src=https://evil.example></iframe>",
]


@pytest.mark.parametrize("source", ATTACKS)
def test_no_raw_html_script_or_unsafe_link_survives(source: str) -> None:
    html = render_markdown(source)
    lowered = html.lower()
    assert "<script" not in lowered and "<img" not in lowered and "<iframe" not in lowered
    assert 'href="javascript' not in lowered and 'href="data' not in lowered
    assert " onerror=" not in lowered.replace("&lt;", "") or "&lt;" in lowered
    assert "onmouseover=" not in lowered or "&quot;" in lowered


def test_markdown_and_safe_links_render() -> None:
    html = render_markdown("**bold** and [docs](https://example.com/a?b=1) and `code`")
    assert "<strong>bold</strong>" in html and "<code>code</code>" in html
    assert '<a href="https://example.com/a?b=1" rel="noopener noreferrer nofollow" target="_blank">docs</a>' in html
