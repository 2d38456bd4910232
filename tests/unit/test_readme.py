"""The README stays true to the code: commands and every setting."""

from __future__ import annotations

from services.core.settings import PROJECT_ROOT, Settings

README = (PROJECT_ROOT / "README.md").read_text()


def test_readme_lists_every_setting() -> None:
    missing = [name.upper() for name in Settings.model_fields if f"`{name.upper()}`" not in README]
    assert not missing, f"README.md configuration table lacks {missing}"


def test_readme_shows_the_two_commands() -> None:
    assert "\nmake run\n" in README and "\nmake test\n" in README
