"""Documents that describe the code stay true to it."""

from __future__ import annotations

from services.core.settings import PROJECT_ROOT

DOCS = PROJECT_ROOT / "docs"


def test_migrations_doc_lists_every_revision() -> None:
    doc = (DOCS / "migrations.md").read_text()
    revisions = sorted(p.name for p in (PROJECT_ROOT / "migrations" / "versions").glob("*.py"))
    assert revisions, "no revisions found"
    missing = [name for name in revisions if f"`{name}`" not in doc]
    assert not missing, f"docs/migrations.md does not list {missing}"


def test_architecture_doc_names_every_domain_and_feature() -> None:
    doc = (DOCS / "architecture.md").read_text()
    domains = [p.name for p in (PROJECT_ROOT / "services").iterdir() if (p / "__init__.py").exists()]
    features = [p.name for p in (PROJECT_ROOT / "dashboard" / "features").iterdir() if (p / "__init__.py").exists()]
    missing = [name for name in [*domains, *features] if f"{name}" not in doc]
    assert not missing, f"docs/architecture.md does not mention {missing}"
