"""The crew SMS against an independent SMSC: the npm package ``smpp`` (MIT) run with node
(tests/notify/smsc_node/server.js). The SMSC decodes every PDU with its own library and
reassembles concatenated segments itself; these tests read what it logged, and the fault's
``alert_state`` through the API, for each way a carrier's SMSC behaves."""

from __future__ import annotations

import itertools
import math
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from openoms.faults.lifecycle import AlertState, FaultTrigger
from openoms.notify.smpp import LongMessage, SmppOptions, SmppSender
from openoms.notify.smpp_pdus import GSM7_EXTENSION
from openoms.notify.worker import OutboxWorker, WorkerOptions
from openoms.store import outbox
from openoms.store.faults import create_fault_event, update_fault_event
from openoms.store.outbox import RetryPolicy
from openoms.store.tables import OutboxPart
from openoms.store.tokens import Role
from tests.api import conftest as api_conftest
from tests.api.conftest import Api
from tests.notify.conftest import PHONE, NodeSmsc, wait_until

# The API fixture (its database, network, clock and tokens) on SQLite only: the SMPP side is
# what these tests are about, and the database parts run on both in tests/notify and tests/api.
api = api_conftest.api
small_network = api_conftest.small_network
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

CREW_SMS = (
    "【故障抢修】10kV城关线城关3号开关至5号分段、CG-F01-K07之间，01-15 16:02，相间短路（AB相）。"
    "停电1234户、12个台区；敏感用户：城关敬老院（敬老院96人）、城关小学（学校）。"
    "详情 https://oms.example/outages/42"
)
"""A crew SMS as the templates write it: 135 UCS-2 characters, more than one SMS holds."""

URL_TEXT = "[Repair] K03_K05 fault. {Off: 12} ~ a^b | c\\d [x] 5€ https://oms.example/o/42?a_b=~1"
"""GSM 7-bit with every character of the extension table and ``_`` (0x11 in the basic set)."""

FAST = WorkerOptions(poll_s=0.1, retry=RetryPolicy(base_delay_s=30.0, max_delay_s=60.0))
"""The retry back-off is long on purpose: a message goes again only when the SMSC binds
(outbox.retry_now) or the test moves the clock."""

StartSmsc = Callable[..., NodeSmsc]


def _fault_with_queued_alert(api: Api, body: str) -> tuple[int, int, int]:
    """A located fault whose crew SMS (``body``) is queued: (fault id, outage id, outbox id)."""
    outage_id = api.fault_outage("CB1")
    now = api.clock.now
    with api.context.sessions.begin() as session:
        fault_id = create_fault_event(
            session,
            feeder_id="F1",
            trigger=FaultTrigger.TRIP,
            t0=now,
            open_edges=(),
            received_at=now,
            now=now,
            breaker="CB1",
            lockout=True,
        )
        update_fault_event(
            session,
            fault_id,
            now=now,
            outage_id=outage_id,
            located_zone="D2",
            alert_state=AlertState.SENT,
        )
        queued = outbox.enqueue(
            session,
            dedupe_key=f"crew_alert:{outage_id}:D2:{PHONE}",
            kind="crew_alert",
            phone=PHONE,
            name="王师傅",
            body=body,
            lang="zh",
            now=now,
            outage_id=outage_id,
            trigger_at=now,
        )
    return fault_id, outage_id, queued.id


def _alert_state(api: Api, outage_id: int) -> str:
    [fault] = api.get(f"/api/v1/faults?outage_id={outage_id}", role=Role.VIEWER).json()
    state: str = fault["alert_state"]
    return state


def _message(api: Api, message_id: int) -> outbox.OutboxItem:
    with api.context.sessions() as session:
        return outbox.get_message(session, message_id)


def _parts(api: Api, message_id: int) -> list[tuple[int, str, str | None]]:
    with api.context.sessions() as session:
        rows = session.query(OutboxPart).filter_by(outbox_id=message_id).order_by(OutboxPart.seq)
        return [(p.seq, p.smsc_message_id, p.stat) for p in rows]


@contextmanager
def _running(
    api: Api, port: int, *, password: str = "secret", **sender: Any
) -> Iterator[tuple[SmppSender, OutboxWorker]]:
    """A sender bound to ``127.0.0.1:port`` and an outbox worker on the API's database and
    clock, both stopped afterwards."""
    channel = SmppSender(
        "127.0.0.1",
        port,
        "openoms",
        password,
        "95598",
        connect_timeout_s=1.0,
        response_timeout_s=2.0,
        reconnect_delay_s=0.1,
        **sender,
    )
    worker = OutboxWorker(api.context.sessions, channel, api.clock, options=FAST)
    channel.start()
    worker.start()
    try:
        yield channel, worker
    finally:
        worker.stop()
        channel.close()


def _delivered(api: Api, message_id: int) -> Callable[[], bool]:
    return lambda: _message(api, message_id).state == "delivered"


def _septets(text: str) -> int:
    return sum(2 if c in GSM7_EXTENSION else 1 for c in text)


def _utf16_units(text: str) -> int:
    return len(text.encode("utf-16-be")) // 2


@pytest.mark.parametrize(
    ("how", "status"), [("submit_sm_resp", 0xC1), ("generic_nack", 0xC0), ("submit_sm_resp", 0xC4)]
)
def test_a_refused_message_payload_goes_as_segments_that_reassemble_exactly(
    api: Api, node_smsc: StartSmsc, how: str, status: int
) -> None:
    smsc = node_smsc(refuse_payload=how, refuse_status=status)
    _, outage_id, message_id = _fault_with_queued_alert(api, CREW_SMS)
    assert len(CREW_SMS) > 70
    with _running(api, smsc.port) as (sender, worker):
        worker.wake()
        assert wait_until(_delivered(api, message_id))
        assert sender.long_message is LongMessage.UDH8  # and so from now on
    [refused] = smsc.records("refused")
    assert (refused["how"], refused["command_status"]) == (how, status)
    [message] = smsc.records("message")
    assert message["text"] == CREW_SMS == _message(api, message_id).body
    assert (message["kind"], message["data_coding"], message["destination"]) == ("udh8", 8, PHONE)
    n = math.ceil(_utf16_units(CREW_SMS) / 67)
    assert n == 3
    assert [_utf16_units(p) for p in message["parts"]] == [67] * (n - 1) + [135 - 67 * (n - 1)]
    # Delivered once every segment's receipt came: one part row per SMSC id, all DELIVRD.
    assert _parts(api, message_id) == [(i + 1, message["ids"][i], "DELIVRD") for i in range(n)]
    assert len(smsc.records("receipt_acked")) == n
    assert _alert_state(api, outage_id) == "delivered"


@pytest.mark.parametrize(
    ("mode", "kind", "ucs2_part", "gsm_part"),
    [
        (LongMessage.UDH8, "udh8", 67, 153),
        (LongMessage.UDH16, "udh16", 66, 152),
        (LongMessage.SAR, "sar", 67, 153),
    ],
)
def test_long_messages_by_setting_cut_between_characters(
    api: Api, node_smsc: StartSmsc, *, mode: LongMessage, kind: str, ucs2_part: int, gsm_part: int
) -> None:
    smsc = node_smsc()
    # A surrogate pair across the first segment boundary, and an escape across the GSM one.
    chinese = "停" * (ucs2_part - 1) + "😀" + CREW_SMS
    english = "a" * (gsm_part - 1) + "{" + URL_TEXT * 2
    ids = []
    for body in (chinese, english):
        ids.append(_fault_with_queued_alert(api, body)[2])
        api.clock.advance(seconds=1)  # sent in this order
    with _running(api, smsc.port, options=SmppOptions(long_message=mode)) as (_, worker):
        worker.wake()
        assert wait_until(lambda: all(_delivered(api, i)() for i in ids))
    assert smsc.records("pdu", command="submit_sm", message_payload=None) == smsc.pdus("submit_sm")
    zh, en = smsc.records("message")
    assert (zh["text"], zh["kind"], zh["data_coding"]) == (chinese, kind, 8)
    assert (en["text"], en["kind"], en["data_coding"]) == (english, kind, 0)
    assert [_utf16_units(p) for p in zh["parts"]][:2] == [ucs2_part - 1, ucs2_part]
    assert zh["parts"][1].startswith("😀")
    assert all(_utf16_units(p) <= ucs2_part for p in zh["parts"])
    assert _septets(en["parts"][0]) == gsm_part - 1
    assert en["parts"][1].startswith("{")
    assert all(_septets(p) <= gsm_part for p in en["parts"])
    submits = smsc.pdus("submit_sm")
    assert len(submits) == len(zh["parts"]) + len(en["parts"])
    udh = [p.get("short_message_udh") for p in submits]
    if kind == "sar":
        assert udh == [None] * len(udh)
        numbering = [(p["sar_segment_seqnum"], p["sar_total_segments"]) for p in submits]
        assert numbering == [
            (i + 1, len(m["parts"])) for m in (zh, en) for i in range(len(m["parts"]))
        ]
        assert submits[0]["sar_msg_ref_num"] != submits[-1]["sar_msg_ref_num"]
    else:
        iei = "00" if kind == "udh8" else "08"
        assert all(u is not None and len(u) == 1 and u[0].startswith(iei) for u in udh)


def test_throttling_slows_sending_down(api: Api, node_smsc: StartSmsc) -> None:
    smsc = node_smsc(throttle=3)
    _, outage_id, message_id = _fault_with_queued_alert(api, "停电抢修：K03至K05之间")
    with _running(api, smsc.port, throttle_delay_s=0.1, throttle_max_s=1.0) as (_, worker):
        worker.wake()
        assert wait_until(_delivered(api, message_id))
    submits = [p["t"] for p in smsc.pdus("submit_sm")]
    assert len(smsc.records("throttled")) == 3
    assert len(submits) == 4
    gaps = [b - a for a, b in itertools.pairwise(submits)]
    # Paused 0.1, 0.2, 0.4 s: each at least as asked, each longer than the one before.
    assert all(g >= want - 0.02 for g, want in zip(gaps, (0.1, 0.2, 0.4), strict=True)), gaps
    assert gaps[0] < gaps[1] < gaps[2]
    assert _message(api, message_id).attempts == 1  # throttling is not a failed attempt
    assert _alert_state(api, outage_id) == "delivered"


def test_a_refused_bind_backs_off_capped_and_the_alert_stays_queued(
    api: Api, node_smsc: StartSmsc, caplog: pytest.LogCaptureFixture
) -> None:
    smsc = node_smsc()
    _, outage_id, message_id = _fault_with_queued_alert(api, CREW_SMS)
    with _running(api, smsc.port, password="wrong", bind_backoff_s=0.1, bind_backoff_max_s=0.4) as (
        sender,
        worker,
    ):
        worker.wake()
        wait_until(lambda: False, timeout=3.0)
        assert sender.bind_failures >= 5
    binds = [p["t"] for p in smsc.pdus("bind_transceiver")]
    gaps = [b - a for a, b in itertools.pairwise(binds)]
    # 0.1, 0.2, 0.4, 0.4, ... s: in 3 s about 9 attempts, not 30 (once each 0.1 s).
    assert 5 <= len(binds) <= 11
    assert gaps[0] < gaps[1] < gaps[2]
    assert all(0.08 <= g <= 0.4 + 0.25 for g in gaps)
    assert all(g >= 0.35 for g in gaps[2:])
    assert all(p["password"] == "wrong" for p in smsc.pdus("bind_transceiver"))
    assert "ESME_RINVPASWD" in caplog.text
    assert "next in 0.4 s" in caplog.text
    assert smsc.pdus("submit_sm") == []
    assert _message(api, message_id).state == "queued"
    assert _alert_state(api, outage_id) == "queued"


def test_the_outbox_sends_at_once_when_the_smsc_comes_back(api: Api, node_smsc: StartSmsc) -> None:
    with socket.socket() as probe:  # a free port, where the SMSC starts later
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    _, outage_id, message_id = _fault_with_queued_alert(api, CREW_SMS)
    with _running(api, port, bind_backoff_s=0.2, bind_backoff_max_s=0.5) as (_, worker):
        worker.wake()
        assert wait_until(
            lambda: (m := _message(api, message_id)).attempts >= 1 and m.state == "queued"
        )
        assert _message(api, message_id).next_attempt_at > api.clock.now  # backing off
        assert _alert_state(api, outage_id) == "queued"
        smsc = node_smsc(port=port)
        # The clock of the outbox does not move: only the bind can make the message due.
        assert wait_until(_delivered(api, message_id), timeout=5.0)
    assert [m["text"] for m in smsc.records("message")] == [CREW_SMS]
    assert _alert_state(api, outage_id) == "delivered"


@pytest.mark.parametrize(
    ("id_format", "receipt_id_format"), [("hex", "decimal"), ("decimal", "hex")]
)
def test_receipts_match_ids_in_hex_or_decimal(
    api: Api, node_smsc: StartSmsc, id_format: str, receipt_id_format: str
) -> None:
    smsc = node_smsc(id_format=id_format, receipt_id_format=receipt_id_format)
    _, outage_id, message_id = _fault_with_queued_alert(api, CREW_SMS)
    with _running(api, smsc.port) as (_, worker):
        worker.wake()
        assert wait_until(_delivered(api, message_id))
    [receipt] = smsc.records("receipt_sent")
    assert receipt["id"] != receipt["receipt_id"]  # 1A2B3C and 1715004
    assert int(receipt["id"], 16 if id_format == "hex" else 10) == int(
        receipt["receipt_id"], 16 if receipt_id_format == "hex" else 10
    )
    assert _parts(api, message_id) == [(1, receipt["id"], "DELIVRD")]
    assert _alert_state(api, outage_id) == "delivered"


def test_gsm_text_keeps_every_escaped_character_and_other_text_goes_ucs2(
    api: Api, node_smsc: StartSmsc
) -> None:
    smsc = node_smsc()
    ids = []
    for body in (URL_TEXT, "Fault at K03 — ő"):
        ids.append(_fault_with_queued_alert(api, body)[2])
    with _running(api, smsc.port) as (_, worker):
        worker.wake()
        assert wait_until(lambda: all(_delivered(api, i)() for i in ids))
    gsm, ucs2 = smsc.records("message")
    assert (gsm["text"], gsm["data_coding"], gsm["kind"]) == (URL_TEXT, 0, "single")
    assert (ucs2["text"], ucs2["data_coding"]) == ("Fault at K03 — ő", 8)
    [pdu, _] = smsc.pdus("submit_sm")
    assert (pdu["data_coding"], pdu["esm_class"]) == (0, 0)


def test_settings_reach_the_pdus(api: Api, node_smsc: StartSmsc) -> None:
    smsc = node_smsc()
    options = SmppOptions(
        system_type="OMS", service_type="CMT", source_ton=5, source_npi=0, dest_ton=1, dest_npi=1
    )
    _, _, message_id = _fault_with_queued_alert(api, "停电抢修")
    with _running(api, smsc.port, options=options) as (_, worker):
        worker.wake()
        assert wait_until(_delivered(api, message_id))
    [bind] = smsc.pdus("bind_transceiver")
    [submit] = smsc.pdus("submit_sm")
    assert bind["system_type"] == "OMS"
    assert (submit["service_type"], submit["source_addr_ton"], submit["source_addr_npi"]) == (
        "CMT",
        5,
        0,
    )
    assert (submit["dest_addr_ton"], submit["dest_addr_npi"]) == (1, 1)


def test_no_receipt_in_time_is_unconfirmed_and_a_failed_receipt_failed(
    api: Api, node_smsc: StartSmsc
) -> None:
    silent = node_smsc(receipts=False)
    _, outage_id, message_id = _fault_with_queued_alert(api, CREW_SMS)
    with _running(api, silent.port) as (_, worker):
        worker.wake()
        assert wait_until(lambda: _message(api, message_id).state == "sent")
    assert _alert_state(api, outage_id) == "sent"
    api.clock.advance(seconds=api.context.settings.sms_receipt_timeout_s + 1)
    assert _alert_state(api, outage_id) == "unconfirmed"

    undeliverable = node_smsc(receipt_stat="UNDELIV")
    _, outage_id, message_id = _fault_with_queued_alert(api, CREW_SMS)
    with _running(api, undeliverable.port) as (_, worker):
        worker.wake()
        assert wait_until(lambda: _message(api, message_id).state == "failed")
    assert _message(api, message_id).last_error == "delivery receipt: UNDELIV"
    assert _alert_state(api, outage_id) == "failed"
