"""What goes in the PDUs, without a network: GSM 03.38 coding with escapes, segments cut
between characters, UDH / sar numbering, the derived alert state, and the receipts of the
parts of a long message in the outbox (hex / decimal ids, every part delivered)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hat.drivers.smpp import transport  # type: ignore[import-untyped,unused-ignore]
from sqlalchemy.orm import Session, sessionmaker

from openoms.faults.lifecycle import AlertState, ShownAlertState, shown_alert_state
from openoms.notify.gsm7 import gsm7_decode, gsm7_encode, gsm7_septets
from openoms.notify.smpp import SmppSender
from openoms.notify.smpp_pdus import (
    LongMessage,
    SmppOptions,
    encode_text,
    split_segments,
    submit_requests,
)
from openoms.notify.sms import sms_segments
from openoms.store import outbox
from tests.notify.conftest import PHONE, T0, enqueue_alert

URL = "https://oms.example/o/42?a_b=~{x}[y]^|\\€"


def test_gsm_text_uses_the_basic_set_and_escapes_the_extension_table() -> None:
    septets = b"".join(gsm7_encode("_@$") or ())
    assert septets == bytes((0x11, 0x00, 0x02))  # _ is 0x11, not an escape
    escaped = b"".join(gsm7_encode("{}[]~^|\\€") or ())
    # { } [ ] ~ ^ | \ € after the escape 0x1B: 0x28 0x29 0x3C 0x3E 0x3D 0x14 0x40 0x2F 0x65
    assert escaped == bytes.fromhex("1b28 1b29 1b3c 1b3e 1b3d 1b14 1b40 1b2f 1b65")
    assert gsm7_decode(b"".join(gsm7_encode(URL) or ())) == URL
    assert gsm7_septets(URL) == len(URL) + sum(URL.count(c) for c in "~{}[]^|\\€")
    assert gsm7_encode("停") is None
    assert gsm7_encode("`") is None  # the backquote has no GSM form


def test_the_coding_is_gsm_when_it_can_be_else_ucs2() -> None:
    assert encode_text(URL).data_coding == 0
    assert encode_text("Fault at K03 — ő").data_coding == 8
    zh = encode_text("停电😀")
    assert (zh.data_coding, zh.data) == (8, "停电😀".encode("utf-16-be"))
    assert [len(c) for c in zh.chars] == [2, 2, 4]  # the surrogate pair is one character


@pytest.mark.parametrize(
    ("mode", "ucs2", "gsm"),
    [(LongMessage.UDH8, 67, 153), (LongMessage.UDH16, 66, 152), (LongMessage.SAR, 67, 153)],
)
def test_segments_hold_67_or_66_units_and_153_or_152_septets(
    mode: LongMessage, ucs2: int, gsm: int
) -> None:
    chinese = "停" * (ucs2 - 1) + "😀" + "电" * 100
    parts = [s.data for s in split_segments(encode_text(chinese), mode)]
    assert [len(p) // 2 for p in parts] == [ucs2 - 1, ucs2, 102 - ucs2]
    assert b"".join(parts).decode("utf-16-be") == chinese
    english = "a" * (gsm - 1) + "€" + "b" * 10
    parts = [s.data for s in split_segments(encode_text(english), mode)]
    assert [len(p) for p in parts] == [gsm - 1, 12]
    assert [gsm7_decode(p) for p in parts] == ["a" * (gsm - 1), "€" + "b" * 10]
    assert split_segments(encode_text("停" * 70), mode)[0].total == 1  # fits one SMS
    assert split_segments(encode_text("a" * 160), mode)[0].total == 1
    assert sms_segments(chinese) == len(split_segments(encode_text(chinese), LongMessage.UDH8))
    assert sms_segments("{" * 80) == 1  # 160 septets with the escapes
    assert sms_segments("{" * 81) == 2  # 162


def test_the_pdus_of_each_long_message_setting() -> None:
    text = "停" * 100
    kwargs: dict[str, Any] = {"source_addr": "95598", "destination": PHONE, "reference": 0x1234}
    [payload] = submit_requests(text, mode=LongMessage.PAYLOAD, **kwargs)
    assert payload.optional_params[transport.OptionalParamTag.MESSAGE_PAYLOAD] == text.encode(
        "utf-16-be"
    )
    assert payload.short_message == b""
    udh8 = submit_requests(text, mode=LongMessage.UDH8, **kwargs)
    assert [bytes(r.short_message[:6]) for r in udh8] == [
        bytes((5, 0, 3, 0x34, 2, 1)),
        bytes((5, 0, 3, 0x34, 2, 2)),
    ]
    assert all(transport.GsmFeature.UDHI in r.esm_class.gsm_features for r in udh8)
    udh16 = submit_requests(text, mode=LongMessage.UDH16, **kwargs)
    assert bytes(udh16[1].short_message[:7]) == bytes((6, 8, 4, 0x12, 0x34, 2, 2))
    sar = submit_requests(text, mode=LongMessage.SAR, **kwargs)
    tags = transport.OptionalParamTag
    assert [
        (p[tags.SAR_MSG_REF_NUM], p[tags.SAR_TOTAL_SEGMENTS], p[tags.SAR_SEGMENT_SEQNUM])
        for p in (r.optional_params for r in sar)
    ] == [(0x1234, 2, 1), (0x1234, 2, 2)]
    assert not any(r.esm_class.gsm_features for r in sar)
    options = SmppOptions(service_type="CMT", source_ton=5, dest_ton=1, dest_npi=1)
    [short] = submit_requests("hi", mode=LongMessage.SAR, options=options, **kwargs)
    assert (short.service_type, short.source_addr_ton.value, short.dest_addr_npi.value) == (
        "CMT",
        5,
        1,
    )


def test_the_bind_back_off_doubles_up_to_the_cap() -> None:
    sender = SmppSender("127.0.0.1", 1, "x", "y", bind_backoff_s=1, bind_backoff_max_s=10)
    assert [sender.bind_delay(n) for n in range(6)] == [0, 1, 2, 4, 8, 10]


def test_the_shown_alert_state() -> None:
    sent = AlertState.SENT
    assert shown_alert_state(sent, []) is ShownAlertState.QUEUED
    assert shown_alert_state(sent, [("sending", False)]) is ShownAlertState.QUEUED
    assert shown_alert_state(sent, [("sent", False)]) is ShownAlertState.SENT
    assert shown_alert_state(sent, [("sent", True)]) is ShownAlertState.UNCONFIRMED
    assert shown_alert_state(sent, [("failed", False), ("delivered", False)]) is (
        ShownAlertState.DELIVERED
    )
    assert shown_alert_state(sent, [("failed", False), ("unconfirmed", False)]) is (
        ShownAlertState.UNCONFIRMED
    )
    assert shown_alert_state(sent, [("failed", False)] * 2) is ShownAlertState.FAILED
    for stored in (AlertState.NONE, AlertState.NO_CONTACT, AlertState.SKIPPED):
        assert shown_alert_state(stored, [("delivered", False)]).value == stored.value


def _sent_in_parts(sessions: sessionmaker[Session], ids: list[str]) -> int:
    with sessions.begin() as session:
        message_id = enqueue_alert(session).id
        [item] = outbox.claim_due(session, now=T0)
        outbox.mark_sent(session, item.id, smsc_message_id=ids, handed_at=T0)
    return message_id


def _receipt(sessions: sessionmaker[Session], smsc_id: str, stat: str = "DELIVRD") -> int | None:
    with sessions.begin() as session:
        return outbox.record_receipt(
            session,
            smsc_message_id=smsc_id,
            stat=stat,
            recipient=PHONE,
            done_at=T0 + timedelta(seconds=5),
        )


def _state(sessions: sessionmaker[Session], message_id: int) -> str:
    with sessions() as session:
        return outbox.get_message(session, message_id).state.value


def test_a_long_message_is_delivered_when_every_part_is(sessions: sessionmaker[Session]) -> None:
    message_id = _sent_in_parts(sessions, ["1A2B3C", "1A2B3D", "1A2B3E"])
    assert _receipt(sessions, "1715004") == message_id  # decimal of 0x1A2B3C
    assert _receipt(sessions, "1a2b3e") == message_id
    assert _state(sessions, message_id) == "sent"
    assert _receipt(sessions, "001715005") == message_id
    assert _state(sessions, message_id) == "delivered"
    assert _receipt(sessions, "99999999") is None


def test_a_long_message_fails_when_one_part_does(sessions: sessionmaker[Session]) -> None:
    message_id = _sent_in_parts(sessions, ["1715004", "1715005"])
    assert _receipt(sessions, "1A2B3C") == message_id  # hex of 1715004
    assert _receipt(sessions, "1A2B3D", "UNDELIV") == message_id
    assert _state(sessions, message_id) == "failed"
    with sessions() as session:
        assert outbox.get_message(session, message_id).last_error == (
            "delivery receipt (segment 2): UNDELIV"
        )


def test_a_bind_makes_waiting_messages_due(sessions: sessionmaker[Session]) -> None:
    policy = outbox.RetryPolicy(base_delay_s=60)
    with sessions.begin() as session:
        message_id = enqueue_alert(session).id
        outbox.claim_due(session, now=T0)
        outbox.mark_attempt_failed(session, message_id, error="no session", now=T0, policy=policy)
        assert outbox.claim_due(session, now=T0) == []
        assert outbox.retry_now(session, now=T0) == [message_id]
        assert [i.id for i in outbox.claim_due(session, now=T0)] == [message_id]
