"""The edge's argument parsers (dashboard/state/args.py): browser input becomes typed values or a
translated error; a malformed id is the NotFound a missing row gets."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest

from dashboard.state.args import audit_filter_arg, enum_arg, form_arg, prefixed_ids, uuid_arg
from models import Role
from services.core.errors import NotFound, ValidationFailed
from services.people import INVITABLE_ROLES

ID = uuid.UUID("6f1c2d4e-8a9b-4c3d-9e8f-0a1b2c3d4e5f")


@pytest.mark.parametrize("value", [str(ID), f"  {ID} ", str(ID).upper(), ID.hex])
def test_uuid_arg_reads_an_id(value: str) -> None:
    assert uuid_arg(value) == ID


@pytest.mark.parametrize("value", ["", "nope", str(ID)[:-1], "x" * 65, None, 7, ID, ["a"], {"id": str(ID)}])
def test_a_malformed_id_is_not_found(value: Any) -> None:
    with pytest.raises(NotFound) as failure:
        uuid_arg(value)
    assert failure.value.message == "error.not_found"


def test_enum_arg_gives_the_member_or_refuses() -> None:
    assert enum_arg("worker", INVITABLE_ROLES) is Role.WORKER
    for value in ("admin", "Worker", "", None, 1, Role.ADMIN):
        with pytest.raises(ValidationFailed, match=r"^error\.invalid_input$"):
            enum_arg(value, INVITABLE_ROLES)


def test_prefixed_ids_reads_ticked_boxes_and_treats_a_bad_name_as_not_found() -> None:
    other = uuid.uuid4()
    fields = form_arg({f"member:{ID}": "on", f"member:{other}": True, "member:unticked": "", "role": "worker"})
    assert prefixed_ids(fields, "member:") == [ID, other]
    with pytest.raises(NotFound):
        prefixed_ids(form_arg({"member:not-an-id": "on"}), "member:")


def test_audit_filter_ids_parse_at_the_edge() -> None:
    parsed = audit_filter_arg({"user_id": str(ID), "date_from": "2024-05-01", "action": " login "})
    assert (parsed.user_id, parsed.company_id, parsed.action, parsed.date_from) == (
        ID,
        None,
        "login",
        date(2024, 5, 1),
    )
    for field in ("user_id", "company_id"):
        with pytest.raises(NotFound):
            audit_filter_arg({field: "nope"})


def test_money_and_whole_numbers_from_forms() -> None:
    from dashboard.state.args import int_arg, money_arg

    assert [money_arg(v) for v in ("12", "12.5", "12.34", "0,99")] == [1200, 1250, 1234, 99]
    for bad in ("", "0", "-1", "1.234", "1e3", "abc", 12):
        with pytest.raises(ValidationFailed):
            money_arg(bad)
    assert int_arg("42", 0, 100) == 42
    for bad in ("-1", "101", "4.2", ""):
        with pytest.raises(ValidationFailed):
            int_arg(bad, 0, 100)
