"""Pieces of the two-factor screens shared by the second step of a sign-in and the account page: the
new key (QR code rendered on the server, and as text) with its recovery codes, and "trust this browser"."""

from __future__ import annotations

from collections.abc import Sequence

import reflex as rx
from reflex.vars import ArrayVar

from dashboard.i18n import t


def recovery_code_list(codes: ArrayVar[Sequence[str]]) -> rx.Component:
    return rx.vstack(
        rx.text(t("two_factor.codes_hint"), size="2"),
        rx.grid(
            rx.foreach(codes, lambda code: rx.code(code, data_testid="recovery-code")),
            columns="2",
            spacing="2",
        ),
        spacing="2",
        id="recovery-codes",
    )


def key_and_codes(qr: rx.Var[str], manual_key: rx.Var[str], codes: ArrayVar[Sequence[str]]) -> rx.Component:
    return rx.vstack(
        rx.text(t("two_factor.scan_hint"), size="2"),
        rx.image(src=qr, alt=t("two_factor.qr_alt"), width="12em", height="12em", id="two-factor-qr"),
        rx.text(t("two_factor.manual_key"), ": ", rx.code(manual_key, id="two-factor-key"), size="2"),
        recovery_code_list(codes),
        spacing="3",
        width="100%",
    )


def trust_checkbox() -> rx.Component:
    """A native checkbox (it submits with the plain form): the route reads `trust=on`."""
    return rx.hstack(
        rx.el.input(type="checkbox", name="trust", id="trust"),
        rx.el.label(t("two_factor.trust"), html_for="trust"),
        spacing="2",
        align="center",
    )
