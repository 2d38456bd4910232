"""Every text of the UI exists in every language, every error key a service raises has a message,
the catalogs refuse clashing keys, and pages carry keys, not copies of the texts."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from dashboard.i18n import LANGUAGES, t
from dashboard.i18n.browser import MODULE_FILE, MODULE_IMPORT, TranslationTablePlugin, browser_module
from dashboard.i18n.catalog import CATALOGS, DEFAULT_LANGUAGE, CatalogError, Catalogs, load_catalogs

ROOT = Path(__file__).resolve().parents[2]


def test_every_language_has_every_key_in_the_file_of_the_same_name() -> None:
    assert LANGUAGES[0] == DEFAULT_LANGUAGE
    assert set(LANGUAGES) >= {"en", "ru"}
    reference = CATALOGS.parts[DEFAULT_LANGUAGE]
    assert sum(len(keys) for keys in reference.values()) > 200
    for lang in LANGUAGES:
        assert CATALOGS.parts[lang] == reference, lang


def test_every_service_error_key_is_translated() -> None:
    used = set()
    for path in (ROOT / "services").rglob("*.py"):
        used |= set(re.findall(r"\"(error\.[a-z_]+)\"", path.read_text(encoding="utf-8")))
    assert used, "no error keys found in services/"
    assert sorted(used - set(CATALOGS.texts[DEFAULT_LANGUAGE])) == []


def test_every_page_renders_with_known_keys() -> None:
    """`t(key)` raises KeyError for an unknown key: building each page checks them all."""
    import dashboard.dashboard as app_module

    for page in app_module.app._unevaluated_pages.values():
        assert page.component() is not None, page.route
    with pytest.raises(KeyError, match=r"no\.such_key"):
        t("no.such_key")


def test_pages_call_the_shared_table_instead_of_copying_texts() -> None:
    """Compiled pages name keys only: no text of any catalog appears in them, raw or JS-escaped."""
    import dashboard.dashboard as app_module

    texts = {value for lang in LANGUAGES if lang != DEFAULT_LANGUAGE for value in CATALOGS.texts[lang].values()}
    texts = {value for value in texts if len(value) > 3 and value not in CATALOGS.texts[DEFAULT_LANGUAGE].values()}
    assert texts
    for page in app_module.app._unevaluated_pages.values():
        code = str(page.component())
        assert "translate(" in code, page.route
        copied = [v for v in texts if v in code or json.dumps(v)[1:-1] in code]
        assert copied == [], page.route
    assert "Sign in" not in str(t("login.title"))


def test_the_compile_writes_the_table_module_the_pages_import() -> None:
    [(path, code)] = TranslationTablePlugin().get_static_assets()
    assert path == MODULE_FILE
    assert MODULE_IMPORT == "$/i18n/translations"
    assert isinstance(code, str)
    assert json.dumps(CATALOGS.text("login.title", "ru"), ensure_ascii=False) in code


def _write(root: Path, lang: str, part: str, table: dict[str, str] | str) -> Path:
    path = root / "catalogs" / lang / f"{part}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(table if isinstance(table, str) else json.dumps(table, ensure_ascii=False), encoding="utf-8")
    return path


def test_a_key_in_two_catalogs_is_refused_naming_both_files(tmp_path: Path) -> None:
    _write(tmp_path, "en", "team", {"team.title": "Team", "shared.save": "Save"})
    _write(tmp_path, "en", "common", {"shared.save": "Save"})
    with pytest.raises(CatalogError) as caught:
        load_catalogs(tmp_path / "catalogs")
    message = str(caught.value)
    assert "'shared.save'" in message
    assert "catalogs/en/common.json" in message
    assert "catalogs/en/team.json" in message


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        ('{"team.title": "Team", "team.title": "Team again"}', "defined twice in catalogs/en/team.json"),
        ('{"team.title": ""}', "'team.title' must be a non-empty string"),
        ('{"team": {"title": "Team"}}', "'team' must be a non-empty string"),
        ('["Team"]', "must hold one JSON object"),
        ('{"team.title": "Team",}', "is not valid JSON"),
    ],
)
def test_a_malformed_catalog_is_refused_naming_the_file(tmp_path: Path, content: str, complaint: str) -> None:
    _write(tmp_path, "en", "team", content)
    with pytest.raises(CatalogError, match=re.escape(complaint)):
        load_catalogs(tmp_path / "catalogs")


def test_folders_must_be_language_tags_and_english_must_exist(tmp_path: Path) -> None:
    _write(tmp_path, "ru", "team", {"team.title": "Команда"})
    with pytest.raises(CatalogError, match="no 'en' folder"):
        load_catalogs(tmp_path / "catalogs")
    _write(tmp_path, "en", "team", {"team.title": "Team"})
    _write(tmp_path, "English", "team", {"team.title": "Team"})
    with pytest.raises(CatalogError, match="catalogs/English"):
        load_catalogs(tmp_path / "catalogs")


def _run_in_node(module: str, calls: list[tuple[str, str]], tmp_path: Path) -> list[str]:
    node = shutil.which("node")
    assert node, "node is needed (the frontend build needs it too)"
    (tmp_path / "translations.mjs").write_text(module, encoding="utf-8")
    script = (
        f"import {{translate}} from {json.dumps((tmp_path / 'translations.mjs').as_uri())};"
        f"console.log(JSON.stringify({json.dumps(calls)}.map(([lang, key]) => translate(lang, key))));"
    )
    out = subprocess.run([node, "--input-type=module", "-e", script], check=True, capture_output=True, text=True)
    result: list[str] = json.loads(out.stdout)
    return result


def test_a_third_language_is_a_new_folder_and_falls_back_to_english(tmp_path: Path) -> None:
    """Server (`text`) and browser (`translate`) agree on every fallback."""
    _write(tmp_path, "en", "team", {"team.title": "Team", "team.invite": "Invite someone"})
    _write(tmp_path, "ru", "team", {"team.title": "Команда", "team.invite": "Пригласить"})
    _write(tmp_path, "de", "team", {"team.title": "Mitglieder"})  # half translated
    catalogs: Catalogs = load_catalogs(tmp_path / "catalogs")
    assert catalogs.languages == ("en", "de", "ru")

    calls = [
        ("de", "team.title"),
        ("de", "team.invite"),  # missing in German: English
        ("ru", "team.invite"),
        ("xx", "team.title"),  # a language that does not exist: English
        ("de", "team.nope"),  # an unknown key shows as itself
        ("de", "constructor"),  # not a property of Object.prototype
        ("__proto__", "team.title"),
    ]
    expected = ["Mitglieder", "Invite someone", "Пригласить", "Team", "team.nope", "constructor", "Team"]
    assert [catalogs.text(key, lang) for lang, key in calls] == expected
    assert _run_in_node(browser_module(catalogs), calls, tmp_path) == expected
