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
    "login.no_account": {"en": "New here?", "ru": "Впервые здесь?"},
    "login.signup_link": {"en": "Create a company account", "ru": "Создайте аккаунт компании"},
    # Sign-up
    "signup.title": {"en": "Create your company", "ru": "Создание компании"},
    "signup.company_name": {"en": "Company name", "ru": "Название компании"},
    "signup.full_name": {"en": "Your name", "ru": "Ваше имя"},
    "signup.submit": {"en": "Create account", "ru": "Создать аккаунт"},
    "signup.have_account": {"en": "Already have an account?", "ru": "Уже есть аккаунт?"},
    # Invitation
    "invite.title": {"en": "Join your team", "ru": "Присоединяйтесь к команде"},
    "invite.joining": {"en": "You are invited to", "ru": "Вас пригласили в"},
    "invite.as": {"en": "as", "ru": "с ролью"},
    "invite.accept": {"en": "Accept and sign in", "ru": "Принять и войти"},
    "invite.to_login": {"en": "Go to sign in", "ru": "Перейти ко входу"},
    # Navigation and header
    "nav.home": {"en": "Home", "ru": "Главная"},
    "nav.projects": {"en": "Projects", "ru": "Проекты"},
    "nav.team": {"en": "Team", "ru": "Команда"},
    "nav.audit": {"en": "Audit log", "ru": "Журнал действий"},
    "nav.companies": {"en": "Companies", "ru": "Компании"},
    "nav.outbox": {"en": "Mail outbox", "ru": "Исходящая почта"},
    "nav.account": {"en": "My account", "ru": "Мой аккаунт"},
    "header.logout": {"en": "Sign out", "ru": "Выйти"},
    "header.dark_mode": {"en": "Dark mode", "ru": "Тёмная тема"},
    "header.role": {"en": "Role", "ru": "Роль"},
    "header.company": {"en": "Company", "ru": "Компания"},
    "common.loading": {"en": "Loading…", "ru": "Загрузка…"},
    "common.empty": {"en": "Nothing here yet.", "ru": "Здесь пока ничего нет."},
    "common.save": {"en": "Save", "ru": "Сохранить"},
    "common.cancel": {"en": "Cancel", "ru": "Отмена"},
    "common.retry_in": {"en": "Try again in", "ru": "Повторите через"},
    "common.seconds": {"en": "s", "ru": "с"},
    "password.rules_1": {"en": "At least", "ru": "Не менее"},
    "password.rules_2": {
        "en": "characters; not a well-known password, not your email or name.",
        "ru": "символов; не распространённый пароль, не ваша почта и не имя.",
    },
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
    "companies.search": {"en": "Search", "ru": "Найти"},
    # One company (operator)
    "company.title": {"en": "Company", "ru": "Компания"},
    "company.back": {"en": "← All companies", "ru": "← Все компании"},
    "company.not_found": {"en": "Company not found.", "ru": "Компания не найдена."},
    "company.created": {"en": "created", "ru": "создана"},
    "company.active_members": {"en": "Active members", "ru": "Активных участников"},
    "company.projects": {"en": "Projects", "ru": "Проекты"},
    "company.trial": {"en": "Trial", "ru": "Пробный период"},
    "company.subscription": {"en": "Subscription", "ru": "Подписка"},
    "company.recent_audit": {"en": "Recent activity", "ru": "Последние действия"},
    "company.deactivate": {"en": "Deactivate company", "ru": "Отключить компанию"},
    "company.deactivate_question": {
        "en": "Its users are signed out at once and cannot sign in until it is reactivated. Continue?",
        "ru": "Её пользователи будут сразу отключены и не смогут войти до повторной активации. Продолжить?",
    },
    "company.reactivate": {"en": "Reactivate company", "ru": "Включить компанию"},
    "company.reactivate_question": {
        "en": "Its users will be able to sign in again. Continue?",
        "ru": "Её пользователи снова смогут входить. Продолжить?",
    },
    "company.deactivated": {"en": "The company is deactivated.", "ru": "Компания отключена."},
    "company.reactivated": {"en": "The company is active again.", "ru": "Компания снова активна."},
    # Team
    "team.title": {"en": "Team", "ru": "Команда"},
    "team.members": {"en": "Members", "ru": "Участники"},
    "team.name": {"en": "Name", "ru": "Имя"},
    "team.email": {"en": "Email", "ru": "Эл. почта"},
    "team.role": {"en": "Role", "ru": "Роль"},
    "team.status": {"en": "Status", "ru": "Статус"},
    "team.last_login": {"en": "Last sign-in", "ru": "Последний вход"},
    "team.projects": {"en": "Projects", "ru": "Проекты"},
    "team.actions": {"en": "Actions", "ru": "Действия"},
    "team.active": {"en": "Active", "ru": "Активен"},
    "team.inactive": {"en": "Deactivated", "ru": "Отключён"},
    "team.deactivate": {"en": "Deactivate", "ru": "Отключить"},
    "team.deactivate_question": {
        "en": "The member is signed out at once and cannot sign in until reactivated. Continue?",
        "ru": "Участник будет сразу отключён и не сможет войти до повторной активации. Продолжить?",
    },
    "team.reactivate": {"en": "Reactivate", "ru": "Включить"},
    "team.invite": {"en": "Invite someone", "ru": "Пригласить"},
    "team.invite_projects": {"en": "Projects (workers and clients)", "ru": "Проекты (исполнители и клиенты)"},
    "team.invite_hint": {
        "en": "The invitation link is sent by email, works once and expires in 7 days.",
        "ru": "Ссылка-приглашение отправляется по почте, работает один раз и действует 7 дней.",
    },
    "team.send_invite": {"en": "Send invitation", "ru": "Отправить приглашение"},
    "team.pending": {"en": "Pending invitations", "ru": "Ожидающие приглашения"},
    "team.no_invitations": {"en": "No pending invitations.", "ru": "Ожидающих приглашений нет."},
    "team.sent": {"en": "Sent", "ru": "Отправлено"},
    "team.expires": {"en": "Expires", "ru": "Истекает"},
    "team.expired": {"en": "expired", "ru": "истекло"},
    "team.resend": {"en": "Resend", "ru": "Отправить снова"},
    "team.revoke": {"en": "Revoke", "ru": "Отозвать"},
    "team.revoke_question": {
        "en": "The invitation link stops working. Continue?",
        "ru": "Ссылка-приглашение перестанет работать. Продолжить?",
    },
    "team.project_membership": {"en": "Project membership", "ru": "Участники проектов"},
    "team.project_membership_hint": {
        "en": "Workers and clients see only the projects they are on; managers see every project.",
        "ru": "Исполнители и клиенты видят только свои проекты; менеджеры видят все.",
    },
    "team.invited": {"en": "Invitation sent.", "ru": "Приглашение отправлено."},
    "team.invite_resent": {
        "en": "Invitation sent again with a new link.",
        "ru": "Приглашение отправлено снова с новой ссылкой.",
    },
    "team.invite_revoked": {"en": "Invitation revoked.", "ru": "Приглашение отозвано."},
    "team.role_changed": {
        "en": "Role changed. The member's sessions have ended.",
        "ru": "Роль изменена. Сеансы участника завершены.",
    },
    "team.deactivated": {"en": "Member deactivated.", "ru": "Участник отключён."},
    "team.reactivated": {"en": "Member reactivated.", "ru": "Участник снова активен."},
    "team.project_members_saved": {"en": "Project members saved.", "ru": "Участники проекта сохранены."},
    # Audit log
    "audit.title": {"en": "Audit log", "ru": "Журнал действий"},
    "audit.user": {"en": "User", "ru": "Пользователь"},
    "audit.all_users": {"en": "All users", "ru": "Все пользователи"},
    "audit.action": {"en": "Action", "ru": "Действие"},
    "audit.all_actions": {"en": "All actions", "ru": "Все действия"},
    "audit.company": {"en": "Company", "ru": "Компания"},
    "audit.all_companies": {"en": "All companies", "ru": "Все компании"},
    "audit.from": {"en": "From", "ru": "С"},
    "audit.to": {"en": "To", "ru": "По"},
    "audit.apply": {"en": "Apply", "ru": "Применить"},
    "audit.showing": {"en": "Entries", "ru": "Записи"},
    "audit.of": {"en": "of", "ru": "из"},
    "audit.previous": {"en": "Previous", "ru": "Назад"},
    "audit.next": {"en": "Next", "ru": "Вперёд"},
    "audit.export": {"en": "Export CSV", "ru": "Экспорт CSV"},
    "audit.time": {"en": "Time (UTC)", "ru": "Время (UTC)"},
    "audit.actor": {"en": "Who", "ru": "Кто"},
    "audit.target": {"en": "Object", "ru": "Объект"},
    "audit.ip": {"en": "IP", "ru": "IP"},
    "audit.changes": {"en": "Details", "ru": "Подробности"},
    "audit.empty": {"en": "No entries.", "ru": "Записей нет."},
    # Account
    "account.title": {"en": "My account", "ru": "Мой аккаунт"},
    "account.sessions": {"en": "Where you are signed in", "ru": "Где выполнен вход"},
    "account.device": {"en": "Device", "ru": "Устройство"},
    "account.ip": {"en": "IP address", "ru": "IP-адрес"},
    "account.created": {"en": "Signed in", "ru": "Вход"},
    "account.last_seen": {"en": "Last seen", "ru": "Последняя активность"},
    "account.this_session": {"en": "This session", "ru": "Этот сеанс"},
    "account.revoke": {"en": "End session", "ru": "Завершить сеанс"},
    "account.revoke_question": {
        "en": "That device will be signed out. Continue?",
        "ru": "На том устройстве будет выполнен выход. Продолжить?",
    },
    "account.session_revoked": {"en": "Session ended.", "ru": "Сеанс завершён."},
    "account.logout_all": {"en": "Log out of all sessions", "ru": "Выйти из всех сеансов"},
    "account.logout_all_question": {
        "en": "Every session, this one included, ends now. Continue?",
        "ru": "Все сеансы, включая этот, будут завершены. Продолжить?",
    },
    "account.password": {"en": "Change password", "ru": "Смена пароля"},
    "account.current_password": {"en": "Current password", "ru": "Текущий пароль"},
    "account.new_password": {"en": "New password", "ru": "Новый пароль"},
    "account.repeat_password": {"en": "Repeat the new password", "ru": "Повторите новый пароль"},
    "account.change_password": {"en": "Change password", "ru": "Сменить пароль"},
    "account.password_changed": {
        "en": "Password changed. Your other sessions have ended.",
        "ru": "Пароль изменён. Остальные ваши сеансы завершены.",
    },
    # Dev mail outbox
    "outbox.title": {"en": "Mail outbox", "ru": "Исходящая почта"},
    "outbox.hint": {
        "en": "Development only: mail the app would have sent, newest first.",
        "ru": "Только для разработки: письма, которые отправило бы приложение, новые сверху.",
    },
    "outbox.to": {"en": "To", "ru": "Кому"},
    "outbox.empty": {"en": "No mail yet.", "ru": "Писем пока нет."},
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
    "trial_status.active": {"en": "Active", "ru": "Активен"},
    "trial_status.expired": {"en": "Expired", "ru": "Истёк"},
    "trial_status.converted": {"en": "Converted", "ru": "Переведён в подписку"},
    "subscription_status.trialing": {"en": "Trialing", "ru": "Пробный период"},
    "subscription_status.active": {"en": "Active", "ru": "Активна"},
    "subscription_status.past_due": {"en": "Past due", "ru": "Просрочена оплата"},
    "subscription_status.canceled": {"en": "Canceled", "ru": "Отменена"},
    "subscription_status.unpaid": {"en": "Unpaid", "ru": "Не оплачена"},
    "subscription_status.incomplete": {"en": "Incomplete", "ru": "Не завершена"},
    "subscription_status.incomplete_expired": {"en": "Incomplete, expired", "ru": "Не завершена, истекла"},
    "subscription_status.paused": {"en": "Paused", "ru": "Приостановлена"},
    # Task statuses
    "task_status.backlog": {"en": "Backlog", "ru": "Бэклог"},
    "task_status.todo": {"en": "To do", "ru": "К выполнению"},
    "task_status.in_progress": {"en": "In progress", "ru": "В работе"},
    "task_status.review": {"en": "Review", "ru": "На проверке"},
    "task_status.done": {"en": "Done", "ru": "Готово"},
    # Errors (services.core.errors messages are these keys)
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
        "en": "Too many attempts. Please wait before trying again.",
        "ru": "Слишком много попыток. Подождите и попробуйте снова.",
    },
    "error.invalid_id": {
        "en": "That link or reference is not valid.",
        "ru": "Ссылка или идентификатор недействительны.",
    },
    "error.invalid_date": {"en": "Enter dates as YYYY-MM-DD.", "ru": "Введите даты в формате ГГГГ-ММ-ДД."},
    "error.invalid_email": {"en": "Enter a valid email address.", "ru": "Введите правильный адрес почты."},
    "error.email_required": {"en": "Enter an email address.", "ru": "Введите адрес почты."},
    "error.email_taken": {
        "en": "An account with this email already exists.",
        "ru": "Аккаунт с этой почтой уже существует.",
    },
    "error.company_name_invalid": {
        "en": "Enter a company name with letters or digits.",
        "ru": "Название компании должно содержать буквы или цифры.",
    },
    "error.company_name_too_short": {
        "en": "The company name is too short.",
        "ru": "Название компании слишком короткое.",
    },
    "error.company_name_too_long": {"en": "The company name is too long.", "ru": "Название компании слишком длинное."},
    "error.full_name_required": {"en": "Enter your name.", "ru": "Введите имя."},
    "error.full_name_invalid": {
        "en": "The name contains invalid characters.",
        "ru": "Имя содержит недопустимые символы.",
    },
    "error.full_name_too_long": {"en": "The name is too long.", "ru": "Имя слишком длинное."},
    "error.password_too_short": {
        "en": "The password must have at least 12 characters.",
        "ru": "Пароль должен содержать не менее 12 символов.",
    },
    "error.password_too_long": {"en": "The password is too long.", "ru": "Пароль слишком длинный."},
    "error.password_too_common": {
        "en": "This password is too common or too simple. Choose another one.",
        "ru": "Этот пароль слишком распространённый или простой. Выберите другой.",
    },
    "error.password_matches_email": {
        "en": "The password must not be your email address.",
        "ru": "Пароль не должен совпадать с адресом почты.",
    },
    "error.password_matches_name": {
        "en": "The password must not be your name.",
        "ru": "Пароль не должен совпадать с именем.",
    },
    "error.password_mismatch": {"en": "The new passwords do not match.", "ru": "Новые пароли не совпадают."},
    "error.password_unchanged": {
        "en": "The new password is the same as the current one.",
        "ru": "Новый пароль совпадает с текущим.",
    },
    "error.current_password_required": {"en": "Enter your current password.", "ru": "Введите текущий пароль."},
    "error.current_password_wrong": {"en": "The current password is wrong.", "ru": "Текущий пароль неверен."},
    "error.no_plans": {
        "en": "Sign-up is not available right now. Please try again later.",
        "ru": "Регистрация сейчас недоступна. Попробуйте позже.",
    },
    "error.invite_invalid": {
        "en": "This invitation link is invalid, expired or already used. Ask your manager for a new one.",
        "ru": "Ссылка-приглашение недействительна, истекла или уже использована. Попросите менеджера прислать новую.",
    },
    "error.invite_already_accepted": {
        "en": "This invitation has already been accepted.",
        "ru": "Это приглашение уже принято.",
    },
    "error.invite_revoked": {"en": "This invitation was revoked.", "ru": "Это приглашение отозвано."},
    "error.invalid_role": {
        "en": "Choose manager, worker or client.",
        "ru": "Выберите менеджера, исполнителя или клиента.",
    },
    "error.cannot_change_own_role": {
        "en": "You cannot change your own role.",
        "ru": "Нельзя изменить собственную роль.",
    },
    "error.cannot_deactivate_self": {"en": "You cannot deactivate yourself.", "ru": "Нельзя отключить самого себя."},
    "error.last_manager": {
        "en": "The company must keep at least one active manager.",
        "ru": "В компании должен остаться хотя бы один активный менеджер.",
    },
    "error.project_members_workers_clients_only": {
        "en": "Only workers and clients can be put on a project.",
        "ru": "Участниками проекта могут быть только исполнители и клиенты.",
    },
    "error.too_many_members": {"en": "Too many members at once.", "ru": "Слишком много участников за раз."},
    "error.too_many_projects": {"en": "Too many projects at once.", "ru": "Слишком много проектов за раз."},
    "error.mail_failed": {
        "en": "The email could not be sent; nothing was changed. Please try again later.",
        "ru": "Письмо не удалось отправить; ничего не изменено. Попробуйте позже.",
    },
    "error.mail_too_long": {"en": "The message is too long.", "ru": "Сообщение слишком длинное."},
    "error.search_too_long": {"en": "The search text is too long.", "ru": "Слишком длинный текст поиска."},
    "error.audit_date_range": {
        "en": "The start date is after the end date.",
        "ru": "Начальная дата позже конечной.",
    },
    "error.audit_bad_page": {"en": "That page does not exist.", "ru": "Такой страницы нет."},
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
