"""A real SMPP 3.4 session over loopback: SmppSender (ESME) ↔ SmscSimulator (SMSC)."""

from __future__ import annotations

import logging
import threading

import pytest

from openoms.notify.smpp import (
    DeliveryReceipt,
    SmppOutcomeUnknownError,
    SmppRejectedError,
    SmppSender,
    SmppUnavailableError,
)
from openoms.notify.smsc_sim import SmscSimulator
from tests.notify.conftest import PHONE, make_sender

LONG_ZH = "【故障抢修】10kV城关线城关3号开关至5号分段之间，01-15 16:02，相间短路（AB相）。" * 3


def test_bind_submit_chinese_and_receipt(smsc: SmscSimulator) -> None:
    receipts: list[DeliveryReceipt] = []
    arrived = threading.Event()

    def on_receipt(receipt: DeliveryReceipt) -> None:
        receipts.append(receipt)
        arrived.set()

    with make_sender(smsc) as sender:
        sender.set_receipt_callback(on_receipt)
        short_id = sender.submit(PHONE, "停电抢修")
        long_id = sender.submit(PHONE, LONG_ZH)  # 135 characters: message_payload
        ascii_id = sender.submit(PHONE, "fault at K03")
        assert sender.bound
        assert smsc.wait_until(lambda s: len(s.receipts_sent) == 3)
    assert smsc.binds == 1
    texts = [(m.destination, m.text, m.data_coding, m.source) for m in smsc.messages]
    assert texts == [
        (PHONE, "停电抢修", 8, "95598"),
        (PHONE, LONG_ZH, 8, "95598"),
        (PHONE, "fault at K03", 0, "95598"),
    ]
    assert [(m.message_id,) for m in smsc.messages] == [short_id, long_id, ascii_id]
    assert arrived.wait(2)
    assert sorted((r.message_id, r.stat, r.recipient) for r in receipts) == [
        (*short_id, "DELIVRD", PHONE),
        (*long_id, "DELIVRD", PHONE),
        (*ascii_id, "DELIVRD", PHONE),
    ]


def test_error_status_is_rejected_transient_or_permanent(
    sender: SmppSender, smsc: SmscSimulator
) -> None:
    smsc.fail_next(1, "ESME_RMSGQFUL")
    with pytest.raises(SmppRejectedError) as transient:
        sender.submit(PHONE, "x")
    smsc.fail_next(1, "ESME_RINVDSTADR")
    with pytest.raises(SmppRejectedError) as permanent:
        sender.submit(PHONE, "x")
    assert (transient.value.status, transient.value.permanent) == ("ESME_RMSGQFUL", False)
    assert (permanent.value.status, permanent.value.permanent) == ("ESME_RINVDSTADR", True)
    assert smsc.messages == []
    assert sender.submit(PHONE, "ok")  # the session is still bound


def test_a_dropped_connection_after_the_submit_is_an_unknown_outcome(
    sender: SmppSender, smsc: SmscSimulator
) -> None:
    smsc.drop_next(1)
    with pytest.raises(SmppOutcomeUnknownError, match="connection lost"):
        sender.submit(PHONE, "x")
    assert [m.answered for m in smsc.messages] == [False]  # the SMSC did get it
    assert sender.submit(PHONE, "again")  # re-bound on demand
    assert smsc.binds == 2


def test_no_smsc_or_a_refused_bind_is_unavailable(smsc: SmscSimulator) -> None:
    with (
        SmppSender("127.0.0.1", smsc.port, "openoms", "wrong", reconnect_delay_s=0.1) as sender,
        pytest.raises(SmppUnavailableError, match="refused: ESME_RINVPASWD"),
    ):
        sender.submit(PHONE, "x")
    port = smsc.port
    smsc.stop()
    with (
        SmppSender("127.0.0.1", port, "openoms", "secret", connect_timeout_s=1) as sender,
        pytest.raises(SmppUnavailableError, match="cannot connect"),
    ):
        sender.submit(PHONE, "x")
    assert smsc.messages == []


def test_the_full_number_is_never_logged(
    smsc: SmscSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    receipts: list[DeliveryReceipt] = []
    with make_sender(smsc, on_receipt=receipts.append) as sender:
        sender.submit(PHONE, "停电抢修")
        smsc.fail_next(1, "ESME_RINVDSTADR")
        with pytest.raises(SmppRejectedError):
            sender.submit(PHONE, "x")
        smsc.drop_next(1)
        with pytest.raises(SmppOutcomeUnknownError) as unknown:
            sender.submit(PHONE, "y")
        assert smsc.wait_until(lambda s: len(s.receipts_sent) == 2)
    assert "138****5678" in caplog.text
    assert PHONE not in caplog.text
    assert PHONE not in str(unknown.value)
    assert PHONE not in repr(receipts)
