"""The customer CSV: every bad row named (file, row, column, value), nothing half-read."""

from __future__ import annotations

import re

import pytest

from openoms.contacts.customers import (
    Customer,
    CustomerChannel,
    CustomerFileError,
    CustomerProblem,
    check_elements,
    parse_customers,
)

HEADER = (
    "account,name,phone,email,address,street,village,element_id,meter_id,lang,channels,sensitive"
)
GOOD = f"""{HEADER}
1001,王建国,+86 138-1234-5678,wang@example.cn,王庄村1号,幸福路,王庄村,TA1,M1001,,sms;email,no
1002,Li Na,13900001111,,李村5号,,李村,TA2,,en,,yes
1003,水泥厂,,plant@example.cn,城关路9号,城关路,城关,HV1,M1003,zh-CN,email,否
"""


def test_a_good_file_is_read_whole() -> None:
    found = parse_customers(GOOD, source="c.csv")
    assert [c.account for c in found] == ["1001", "1002", "1003"]
    wang, li, plant = found
    assert wang.phone == "13812345678"  # normalised: +86 and dashes gone
    assert wang.channels == (CustomerChannel.SMS, CustomerChannel.EMAIL)
    assert wang.lang == "zh-CN"
    assert not wang.sensitive
    assert wang.meter_id == "M1001"
    # empty channels: every channel it has contact data for (a phone only: SMS)
    assert li.channels == (CustomerChannel.SMS,)
    assert li.lang == "en"
    assert li.sensitive
    assert li.meter_id is None
    assert li.email is None
    assert plant.channels == (CustomerChannel.EMAIL,)
    assert plant.element_id == "HV1"
    assert wang.row == 2
    assert plant.row == 4


def test_the_repr_masks_contact_data() -> None:
    wang = parse_customers(GOOD, source="c.csv")[0]
    shown = repr(wang)
    assert "13812345678" not in shown
    assert "138****5678" in shown
    assert "wang@example.cn" not in shown
    assert "w***@example.cn" in shown


def test_every_bad_row_is_named_and_nothing_is_read() -> None:
    text = f"""{HEADER}
1001,王建国,12345,wang@example,王庄村1号,幸福路,王庄村,TA1,M1,fr,sms;fax,maybe
1001,李四,13900001111,,李村5号,,李村,TA2,M1,,,
,,,,,,,,,,,
"""
    with pytest.raises(CustomerFileError) as caught:
        parse_customers(text, source="c.csv")
    problems = caught.value.problems
    # row 2: phone, email, lang, channels, sensitive; row 3: a repeated account and meter;
    # row 4: the four required columns empty.
    assert CustomerProblem("c.csv", 2, "email", "wang@example", problems[1].message) in problems
    cells = [(p.row, p.column) for p in problems]
    assert cells == [
        (2, "phone"),
        (2, "email"),
        (2, "lang"),
        (2, "channels"),
        (2, "sensitive"),
        (3, "account"),
        (3, "meter_id"),
        (4, "account"),
        (4, "name"),
        (4, "address"),
        (4, "element_id"),
    ]
    message = str(caught.value)
    assert "c.csv:2: phone '***45': " in message  # the bad phone masked even here
    assert "c.csv:2: channels 'sms;fax': unknown channel 'fax'" in message
    assert "c.csv:3: account '1001': already on row 2" in message


def test_a_missing_column_is_named() -> None:
    with pytest.raises(CustomerFileError, match=re.escape("c.csv:1: meter_id: column missing")):
        parse_customers(
            "account,name,phone,email,address,street,village,element_id\n", source="c.csv"
        )


def test_sms_without_a_phone_is_a_problem() -> None:
    text = f"{HEADER}\n1,甲,,,地址,,,TA1,,,sms,\n"
    with pytest.raises(
        CustomerFileError, match=re.escape("c.csv:2: channels 'sms': sms asked for")
    ):
        parse_customers(text, source="c.csv")


def test_unknown_transformer_areas_are_named_by_row() -> None:
    found = parse_customers(GOOD, source="c.csv")
    check_elements(found, {"TA1", "TA2", "HV1"}, source="c.csv", network="small")
    with pytest.raises(CustomerFileError) as caught:
        check_elements(found, {"TA1"}, source="c.csv", network="small")
    assert [(p.row, p.value) for p in caught.value.problems] == [(3, "TA2"), (4, "HV1")]
    assert "c.csv:3: element_id 'TA2': not a transformer area or HV customer" in str(caught.value)


def test_a_customer_built_by_hand_has_defaults() -> None:
    c = Customer("1", "甲", "13800000000", None, "地址", "", "", "TA1")
    assert c.lang == "zh-CN"
    assert c.row == 0
    assert not c.sensitive
