"""The CMPP 3.0 sender against the test ISMG (tests/notify/cmpp_ismg.py, itself checked
against cmppy), alone and under the outbox worker with a real database (SQLite and
PostgreSQL)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session, sessionmaker

from openoms.notify.cmpp import (
    CmppRejectedError,
    CmppSender,
    CmppUnavailableError,
    cmpp_sender_from_settings,
)
from openoms.notify.cmpp_pdus import MsgFmt, SubmitOptions
from openoms.notify.smpp import DeliveryReceipt
from openoms.notify.worker import OutboxWorker, WorkerOptions
from openoms.settings import Settings
from openoms.store import outbox
from openoms.store.outbox import OutboxState, RetryPolicy
from tests.notify.cmpp_ismg import CmppIsmg

SOURCE, SECRET = "901234", "secret"
PHONE, OTHER = "13812345678", "13900001111"
OPTIONS = SubmitOptions(service_id="OMSNOTICE", src_id="1065888895598", msg_src=SOURCE)
CONNECTED_AT = datetime(2025, 1, 15, 16, 0, 5, tzinfo=ZoneInfo("Asia/Shanghai"))
SHORT = "【计划停电】城关线明日8:00至18:00停电检修，请做好准备。"
LONG = (
    "【计划停电通知】因10kV城关线K03至K05段线路检修，"
    "定于1月23日8:00至18:00停电，影响东关村、西关村、南街、北街及城关一号、二号、三号台区，"
    "涉及居民用户约一千二百户、专变用户五户（含敬老院一处）。请提前做好准备，"
    "来电时间如有变化将另行通知。咨询电话95598。"
)
FAST = WorkerOptions(poll_s=0.2, retry=RetryPolicy(base_delay_s=0.05, max_delay_s=0.2))


def until(check: Callable[[], bool], timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.01)
    return check()


@pytest.fixture
def ismg() -> Iterator[CmppIsmg]:
    with CmppIsmg({SOURCE: SECRET}) as server:
        yield server


def make_sender(ismg: CmppIsmg, **kwargs: Any) -> CmppSender:
    return CmppSender(
        "127.0.0.1",
        ismg.port,
        SOURCE,
        kwargs.pop("secret", SECRET),
        options=kwargs.pop("options", OPTIONS),
        clock=lambda: CONNECTED_AT,
        response_timeout_s=kwargs.pop("response_timeout_s", 2.0),
        reconnect_delay_s=kwargs.pop("reconnect_delay_s", 0.1),
        backoff_s=kwargs.pop("backoff_s", 0.2),
        **kwargs,
    )


def test_one_ucs2_message_reaches_the_ismg_field_by_field(ismg: CmppIsmg) -> None:
    with make_sender(ismg) as sender:
        ids = sender.submit(PHONE, SHORT)
    [connect] = ismg.connects
    assert (connect.source_addr, connect.status, connect.version) == (SOURCE, 0, 0x30)
    assert connect.timestamp == 115160005  # 01-15 16:00:05, the sender's clock
    [record] = ismg.submits
    assert ids == (str(record.assigned_id),)
    assert (record.pk_total, record.pk_number, record.tp_udhi, record.msg_fmt) == (1, 1, 0, 8)
    assert record.registered_delivery == 1
    assert (record.service_id, record.src_id, record.msg_src) == (
        "OMSNOTICE",
        "1065888895598",
        SOURCE,
    )
    assert record.dest_terminal_ids == (PHONE,)
    assert [(m.destination, m.text) for m in ismg.messages()] == [(PHONE, SHORT)]
    assert until(lambda: ismg.terminates == 1)  # close() ends with CMPP_TERMINATE
    assert ismg.errors == []


def test_a_wrong_secret_names_the_reason_and_backs_off(ismg: CmppIsmg) -> None:
    with make_sender(ismg, secret="not-the-secret", backoff_s=5.0) as sender:
        assert until(lambda: sender.connect_failures >= 1)
        assert "Status 3: authentication failed" in sender.last_connect_error
        assert "wrong shared secret" in sender.last_connect_error
        with pytest.raises(CmppUnavailableError, match=r"Status 3.*next CONNECT in"):
            sender.submit(PHONE, SHORT)  # within the back-off: no new CONNECT
        assert [c.status for c in ismg.connects] == [3]
        assert [sender.backoff_delay(n) for n in (1, 2, 3)] == [5.0, 10.0, 20.0]
    assert ismg.submits == []


def test_a_long_message_goes_in_parts_with_a_user_data_header(ismg: CmppIsmg) -> None:
    assert len(LONG) == 138  # 138 UCS-2 characters: 67 + 67 + 4
    with make_sender(ismg) as sender:
        ids = sender.submit(PHONE, LONG)
    parts = sorted(ismg.submits, key=lambda r: r.pk_number)
    assert [(r.pk_total, r.pk_number, r.tp_udhi) for r in parts] == [
        (3, 1, 1),
        (3, 2, 1),
        (3, 3, 1),
    ]
    assert [len(r.content) for r in parts] == [140, 140, 6 + 8]
    assert len({r.content[3] for r in parts}) == 1  # one reference
    assert [r.content[4:6] for r in parts] == [b"\x03\x01", b"\x03\x02", b"\x03\x03"]
    assert [m.text for m in ismg.messages()] == [LONG]
    assert sorted(ids) == sorted(str(r.assigned_id) for r in parts)


def test_gbk_texts_are_msg_fmt_15(ismg: CmppIsmg) -> None:
    gbk = SubmitOptions(service_id="OMS", src_id="10658888", msg_src=SOURCE, msg_fmt=MsgFmt.GBK)
    with make_sender(ismg, options=gbk) as sender:
        sender.submit(PHONE, LONG)  # ASCII in 1 octet, Chinese in 2
    assert {r.msg_fmt for r in ismg.submits} == {15}
    assert [m.text for m in ismg.messages()] == [LONG]


def test_status_reports_are_answered_and_handed_over(ismg: CmppIsmg) -> None:
    receipts: list[DeliveryReceipt] = []
    with make_sender(ismg, on_receipt=receipts.append) as sender:
        [first] = sender.submit(PHONE, SHORT)
        assert until(lambda: len(receipts) == 1)
        ismg.report_stat = "MK:0005"  # an ISMG error code: undelivered
        [second] = sender.submit(OTHER, SHORT)
        assert until(lambda: len(receipts) == 2)
    assert [(r.message_id, r.stat, r.recipient, r.error) for r in receipts] == [
        (first, "DELIVRD", PHONE, ""),
        (second, "UNDELIV", OTHER, "MK:0005"),
    ]
    assert [result for _, result in ismg.deliver_acks] == [0, 0]


def test_flow_control_is_waited_out_and_a_refusal_is_final(ismg: CmppIsmg) -> None:
    ismg.results = [8, 8]
    with make_sender(ismg, throttle_delay_s=0.05) as sender:
        started = time.monotonic()
        sender.submit(PHONE, SHORT)
        assert time.monotonic() - started >= 0.05 + 0.1  # paused 0.05 s, then 0.1 s
        assert [r.result for r in ismg.submits] == [8, 8, 0]
        assert [m.text for m in ismg.messages()] == [SHORT]  # taken once
        ismg.results = [13]
        with pytest.raises(CmppRejectedError, match="Result 13: bad Dest_terminal_Id") as caught:
            sender.submit(PHONE, SHORT)
        assert caught.value.permanent


def test_active_test_both_ways_and_a_terminate_reconnects(ismg: CmppIsmg) -> None:
    with make_sender(ismg, active_test_s=0.1) as sender:
        assert until(lambda: ismg.active_tests >= 2)
        assert ismg.send_active_test()  # the sender answers the ISMG's
        ismg.terminate_all()
        assert until(lambda: len(ismg.connects) == 2 and sender.bound)
        sender.submit(PHONE, SHORT)
    assert ismg.errors == []


def test_the_settings_choose_and_describe_the_cmpp_sender(ismg: CmppIsmg) -> None:
    settings = Settings(
        sms_protocol="cmpp",
        cmpp_host="127.0.0.1",
        cmpp_port=ismg.port,
        cmpp_source_addr=SOURCE,
        cmpp_shared_secret=SECRET,
        cmpp_service_id="OMSNOTICE",
        cmpp_src_id="1065888895598",
    )
    with cmpp_sender_from_settings(settings, response_timeout_s=2.0) as sender:
        sender.submit(PHONE, SHORT)
    [record] = ismg.submits
    assert (record.service_id, record.src_id, record.msg_src) == (
        "OMSNOTICE",
        "1065888895598",
        SOURCE,
    )
    with pytest.raises(ValueError, match="cmpp_source_addr"):
        Settings(cmpp_source_addr="1234567")


# -- under the outbox worker ---------------------------------------------------------------


def _enqueue(sessions: sessionmaker[Session], key: str, phone: str, body: str) -> int:
    now = datetime.now(UTC)
    with sessions.begin() as session:
        return outbox.enqueue(
            session,
            dedupe_key=key,
            kind="notice",
            phone=phone,
            name="客户",
            body=body,
            lang="zh",
            now=now,
            trigger_at=now,
        ).id


def _state(sessions: sessionmaker[Session], message_id: int) -> outbox.OutboxItem:
    with sessions() as session:
        return outbox.get_message(session, message_id)


@pytest.fixture
def worker_for(
    sessions: sessionmaker[Session],
) -> Iterator[Callable[[CmppSender], OutboxWorker]]:
    started: list[tuple[OutboxWorker, CmppSender]] = []

    def start(sender: CmppSender) -> OutboxWorker:
        worker = OutboxWorker(sessions, sender.start(), options=FAST)
        worker.start()
        started.append((worker, sender))
        return worker

    yield start
    for worker, sender in started:
        worker.stop()
        sender.close()


def test_the_outbox_sends_over_cmpp_and_the_reports_deliver(
    sessions: sessionmaker[Session],
    ismg: CmppIsmg,
    worker_for: Callable[[CmppSender], OutboxWorker],
) -> None:
    worker = worker_for(make_sender(ismg))
    short = _enqueue(sessions, "notice:1", PHONE, SHORT)
    long = _enqueue(sessions, "notice:2", OTHER, LONG)
    worker.wake()
    assert until(lambda: _state(sessions, long).state is OutboxState.DELIVERED)
    assert until(lambda: _state(sessions, short).state is OutboxState.DELIVERED)
    assert sorted(m.text for m in ismg.messages()) == sorted([SHORT, LONG])


def test_a_drop_mid_window_reconnects_and_nothing_is_sent_twice(
    sessions: sessionmaker[Session],
    ismg: CmppIsmg,
    worker_for: Callable[[CmppSender], OutboxWorker],
) -> None:
    """The ISMG closes the connection on receiving part 2 of 3 of a long message, without
    answering it: the message is unconfirmed and never resent; the link comes back, the
    next message goes, and the parts' late reports deliver the unconfirmed one (matched by
    its recipient, the only unconfirmed message to that number)."""
    sender = make_sender(ismg)
    worker = worker_for(sender)
    assert until(lambda: sender.bound)
    ismg.drop_on(2)
    dropped = _enqueue(sessions, "notice:1", PHONE, LONG)
    worker.wake()
    settled = {OutboxState.UNCONFIRMED, OutboxState.DELIVERED}  # never queued again
    assert until(lambda: _state(sessions, dropped).state in settled)
    after = _enqueue(sessions, "notice:2", OTHER, SHORT)
    worker.wake()
    assert until(lambda: _state(sessions, after).state is OutboxState.DELIVERED)
    assert until(lambda: _state(sessions, dropped).state is OutboxState.DELIVERED)
    assert len(ismg.connects) == 2
    to_phone = [r.pk_number for r in ismg.submits if r.dest_terminal_ids == (PHONE,)]
    assert len(to_phone) == len(set(to_phone)) <= 3  # no part twice
    assert [m.text for m in ismg.messages() if m.destination == OTHER] == [SHORT]
    assert _state(sessions, dropped).attempts == 1


def test_a_text_or_number_cmpp_cannot_carry_is_refused_before_sending(ismg: CmppIsmg) -> None:
    gbk = SubmitOptions(service_id="OMS", src_id="10658888", msg_src=SOURCE, msg_fmt=MsgFmt.GBK)
    with make_sender(ismg, options=gbk) as sender:
        with pytest.raises(CmppRejectedError, match="cannot encode '😀'") as caught:
            sender.submit(PHONE, "停电通知😀")
        assert caught.value.permanent
        with pytest.raises(CmppRejectedError, match=r"Dest_terminal_Id '1{33}'"):
            sender.submit("1" * 33, SHORT)
    assert ismg.submits == []
