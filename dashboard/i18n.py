"""Every piece of UI text, in English and Russian.

`t("key")` gives a component-ready Var that follows the browser's language choice
(`UIState.lang`, kept in localStorage). `t_var(var)` translates a key that is itself a
state Var (an error key from a service, a role, a status). Keys missing from the table
render as themselves, so a forgotten key is visible rather than blank.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

LANGUAGES = ("en", "ru")
DEFAULT_LANGUAGE = "en"

TRANSLATIONS: dict[str, dict[str, str]] = {
    # Application
    "app.title": {"en": "WorkDash", "ru": "WorkDash"},
    "app.tagline": {"en": "Projects, tasks and clients in one place", "ru": "Проекты, задачи и клиенты в одном месте"},
    # Login
    "login.title": {"en": "Sign in", "ru": "Вход"},
    "login.email": {"en": "Email", "ru": "Эл. почта"},
    "login.password": {"en": "Password", "ru": "Пароль"},
    "login.submit": {"en": "Sign in", "ru": "Войти"},
    "login.language": {"en": "Language", "ru": "Язык"},
    # Navigation and header
    "nav.home": {"en": "Home", "ru": "Главная"},
    "nav.projects": {"en": "Projects", "ru": "Проекты"},
    "nav.companies": {"en": "Companies", "ru": "Компании"},
    "header.logout": {"en": "Sign out", "ru": "Выйти"},
    "header.dark_mode": {"en": "Dark mode", "ru": "Тёмная тема"},
    "header.role": {"en": "Role", "ru": "Роль"},
    "header.company": {"en": "Company", "ru": "Компания"},
    "common.loading": {"en": "Loading…", "ru": "Загрузка…"},
    # Home
    "home.title": {"en": "Home", "ru": "Главная"},
    "home.signed_in_as": {"en": "Signed in as", "ru": "Вы вошли как"},
    "home.summary.admin": {
        "en": "You operate the service: companies, plans and billing.",
        "ru": "Вы управляете сервисом: компании, тарифы и счета.",
    },
    "home.summary.manager": {
        "en": "You run your company's projects and people.",
        "ru": "Вы ведёте проекты и сотрудников своей компании.",
    },
    "home.summary.worker": {
        "en": "You work on the tasks of the projects you belong to.",
        "ru": "Вы работаете над задачами своих проектов.",
    },
    "home.summary.client": {
        "en": "You review the work shared with you.",
        "ru": "Вы проверяете работу, которой с вами поделились.",
    },
    "home.projects_count": {"en": "Projects you can see", "ru": "Доступных проектов"},
    "home.companies_count": {"en": "Companies", "ru": "Компаний"},
    # Projects
    "projects.title": {"en": "Projects", "ru": "Проекты"},
    "projects.empty": {"en": "No projects yet.", "ru": "Проектов пока нет."},
    "projects.name": {"en": "Project", "ru": "Проект"},
    "projects.status": {"en": "Status", "ru": "Статус"},
    "projects.total": {"en": "Total", "ru": "Всего"},
    # Companies
    "companies.title": {"en": "Companies", "ru": "Компании"},
    "companies.empty": {"en": "No companies yet.", "ru": "Компаний пока нет."},
    "companies.name": {"en": "Company", "ru": "Компания"},
    "companies.status": {"en": "Status", "ru": "Статус"},
    "companies.members": {"en": "Members", "ru": "Участники"},
    "companies.plan": {"en": "Plan", "ru": "Тариф"},
    "companies.trial": {"en": "trial", "ru": "пробный период"},
    "companies.no_plan": {"en": "—", "ru": "—"},
    # Roles
    "role.admin": {"en": "Administrator", "ru": "Администратор"},
    "role.manager": {"en": "Manager", "ru": "Менеджер"},
    "role.worker": {"en": "Worker", "ru": "Исполнитель"},
    "role.client": {"en": "Client", "ru": "Клиент"},
    # Project / company statuses
    "project_status.active": {"en": "Active", "ru": "Активен"},
    "project_status.archived": {"en": "Archived", "ru": "В архиве"},
    "company_status.active": {"en": "Active", "ru": "Активна"},
    "company_status.deactivated": {"en": "Deactivated", "ru": "Отключена"},
    # Task statuses
    "task_status.backlog": {"en": "Backlog", "ru": "Бэклог"},
    "task_status.todo": {"en": "To do", "ru": "К выполнению"},
    "task_status.in_progress": {"en": "In progress", "ru": "В работе"},
    "task_status.review": {"en": "Review", "ru": "На проверке"},
    "task_status.done": {"en": "Done", "ru": "Готово"},
    # Errors (services.errors messages are these keys)
    "error.generic": {
        "en": "Something went wrong. Please try again.",
        "ru": "Что-то пошло не так. Попробуйте ещё раз.",
    },
    "error.not_found": {"en": "Not found.", "ru": "Не найдено."},
    "error.permission_denied": {"en": "You do not have access to this.", "ru": "У вас нет доступа к этому."},
    "error.invalid_input": {"en": "Please check the entered data.", "ru": "Проверьте введённые данные."},
    "error.bad_credentials": {"en": "Wrong email or password.", "ru": "Неверная почта или пароль."},
    "error.login_required_fields": {"en": "Enter your email and password.", "ru": "Введите почту и пароль."},
    "error.company_deactivated": {
        "en": "Your company's account is deactivated.",
        "ru": "Учётная запись вашей компании отключена.",
    },
    "error.conflict": {
        "en": "This was changed by someone else. Reload and try again.",
        "ru": "Данные изменил кто-то другой. Обновите страницу и повторите.",
    },
    "error.unavailable": {
        "en": "The service is temporarily unavailable. Please try again later.",
        "ru": "Сервис временно недоступен. Попробуйте позже.",
    },
    "error.cross_site": {
        "en": "The request was refused. Reload the page and try again.",
        "ru": "Запрос отклонён. Обновите страницу и повторите.",
    },
    "error.too_many_attempts": {
        "en": "Too many sign-in attempts. Please wait before trying again.",
        "ru": "Слишком много попыток входа. Подождите и попробуйте снова.",
    },
    "login.retry_in": {"en": "Try again in", "ru": "Повторите через"},
    "login.seconds": {"en": "s", "ru": "с"},
    "error.session_expired": {
        "en": "Your session has ended. Please sign in again.",
        "ru": "Сеанс завершён. Войдите снова.",
    },
}

ERROR_KEYS = frozenset(k for k in TRANSLATIONS if k.startswith("error."))

# Per-language dictionaries compiled into the page once, for keys only known at run time.
_BY_LANGUAGE: dict[str, dict[str, str]] = {
    lang: {key: texts[lang] for key, texts in TRANSLATIONS.items()} for lang in LANGUAGES
}


def text(key: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """Plain-Python translation (for server-side messages and tests)."""
    entry = TRANSLATIONS.get(key)
    if entry is None:
        return key
    return entry.get(lang) or entry[DEFAULT_LANGUAGE]


def error_key(message: str | None) -> str:
    """A service error's message as a known error key (anything else becomes the generic error)."""
    return message if message in ERROR_KEYS else "error.generic"


def _lang() -> rx.Var:
    from dashboard.state.ui import UIState

    return UIState.lang


def t(key: str) -> rx.Var:
    """A static key, translated in the browser according to the chosen language."""
    if key not in TRANSLATIONS:
        raise KeyError(f"missing translation key {key!r}")
    return rx.cond(_lang() == "ru", text(key, "ru"), text(key, "en"))


def t_var(key: rx.Var | Any, prefix: str = "") -> rx.Var:
    """A key known only at run time (a Var), optionally prefixed, e.g. t_var(State.role, "role.")."""
    table = rx.Var.create(_BY_LANGUAGE)
    full_key = rx.Var.create(prefix) + key.to(str) if prefix else key.to(str)
    lang = rx.cond(_lang() == "ru", "ru", "en")
    translated = table.to(dict)[lang].to(dict)[full_key].to(str)
    return rx.cond(translated, translated, full_key)
