"""`make docs`: regenerate the generated documents. tests/unit/test_policy.py runs the same render and
compares, so a stale file fails the suite.

    python scripts/docs.py          write docs/roles.md
    python scripts/docs.py --check  exit 1 if docs/roles.md is stale
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ROLES_DOC = ROOT / "docs" / "roles.md"


def render_roles_doc() -> str:
    from dashboard.registry import render_pages_markdown
    from services.core.policy import render_roles_markdown

    return render_roles_markdown() + "\n" + render_pages_markdown()


def main(argv: list[str]) -> int:
    text = render_roles_doc()
    if "--check" in argv:
        if ROLES_DOC.read_text() != text:
            print("docs/roles.md is stale: run `make docs`", file=sys.stderr)
            return 1
        return 0
    ROLES_DOC.write_text(text)
    print(f"wrote {ROLES_DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
