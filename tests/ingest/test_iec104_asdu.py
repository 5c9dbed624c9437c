"""Decoding data ASDUs (``openoms.ingest.iec104_asdu``) and turning changes into events
(``openoms.ingest.iec104_state``), on ASDUs built by the independent test-side encoder of
``tests.ingest.iec104_network`` (written from IEC 60870-5-101/104, not from the decoder)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hat.drivers.iec104 import encoder as hat_encoder

from openoms.events import EventKind
from openoms.ingest.iec104_asdu import AsduError, Cp56Time, cp56_datetime, decode_data_asdu
from openoms.ingest.iec104_points import unit_points
from openoms.ingest.iec104_state import Change, UnitTracker
from tests.ingest.iec104_network import asdu, cp56, diq, float_qds, siq, telecontrol_network

T0 = datetime(2026, 12, 3, 6, 0, 0, 123_000)  # wall-clock fields


def ms(n: int) -> timedelta:
    return timedelta(milliseconds=n)


def test_sq1_time_tagged_singles_each_have_their_own_time_and_flags() -> None:
    # M_SP_TB_1 (30), SQ=1, IOA 1..4 (a=1, b=1, c=0, earth fault=1), 10 ms apart
    flags = [True, True, False, True]
    objects = [(1 + i, siq(on), cp56(T0 + ms(10 * i))) for i, on in enumerate(flags)]
    raw = asdu(30, objects, common_address=1, cause=20, sequence=True)
    decoded = decode_data_asdu(raw)
    assert (decoded.type_name, decoded.sequence, decoded.cause) == ("M_SP_TB_1", True, 20)
    assert [(o.ioa, o.value) for o in decoded.objects] == [(1, 1), (2, 1), (3, 0), (4, 1)]
    times = [cp56_datetime(o.time) for o in decoded.objects if o.time is not None]
    assert times == [(T0 + ms(10 * i)).replace(tzinfo=UTC) for i in range(4)]


def test_hat_drivers_reads_the_same_bytes_wrong() -> None:
    """Why OpenOMS decodes data ASDUs itself: hat-drivers 0.10.10 reads N elements and then
    ONE time tag, so the second element is read from the first time tag's octets and every
    element gets one time made of the wrong octets. When this test fails, hat-drivers has
    been fixed: the master could go back to it."""
    objects = [(1, float_qds(120.5), cp56(T0)), (2, float_qds(7.25), cp56(T0 + ms(10)))]
    raw = asdu(36, objects, common_address=1, sequence=True)
    theirs = list(hat_encoder.Encoder().decode(raw))
    assert theirs[0].data.value.value == 120.5
    assert theirs[1].data.value.value != 7.25  # a garbage float made of time-tag octets
    assert theirs[0].time == theirs[1].time
    assert theirs[0].time.hours != T0.hour or theirs[0].time.minutes != T0.minute
    ours = decode_data_asdu(raw)
    assert [o.value for o in ours.objects] == [120.5, 7.25]
    assert [cp56_datetime(o.time) for o in ours.objects if o.time] == [
        T0.replace(tzinfo=UTC),
        (T0 + ms(10)).replace(tzinfo=UTC),
    ]


def test_sq1_floats_and_sq0_doubles() -> None:
    floats = asdu(
        36,
        [(16385, float_qds(120.5), cp56(T0)), (16386, float_qds(7.25, 0x80), cp56(T0 + ms(1)))],
        common_address=1,
        sequence=True,
    )
    decoded = decode_data_asdu(floats)
    assert [o.value for o in decoded.objects] == [120.5, 7.25]
    assert [o.quality.invalid for o in decoded.objects] == [False, True]
    doubles = asdu(31, [(5, diq(2), cp56(T0)), (9, diq(1), cp56(T0))], common_address=7)
    decoded = decode_data_asdu(doubles)
    assert [(o.ioa, o.value) for o in decoded.objects] == [(5, 2), (9, 1)]
    assert decoded.common_address == 7


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (asdu(30, [(1, siq(True), cp56(T0))], common_address=1)[:-1], "octets of objects"),
        (asdu(36, [(1, float_qds(1.0), b"")], common_address=1), "octets of objects"),
        (bytes([30, 0x81, 3]), "shorter than an ASDU header"),
        (bytes([30, 0x80, 3, 0, 1, 0]), "says 0 objects"),
        (bytes([32, 1, 3, 0, 1, 0, 1, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0]), "type 32"),
    ],
)
def test_what_does_not_fit_is_an_error_never_a_guess(raw: bytes, why: str) -> None:
    with pytest.raises(AsduError, match=why):
        decode_data_asdu(raw)


def test_time_tags_in_the_units_zone() -> None:
    tag = Cp56Time(123, 0, 14, 3, 12, 26, invalid=False, summer_time=False)  # 14:00:00.123
    beijing = cp56_datetime(tag, ZoneInfo("Asia/Shanghai"))
    assert beijing == datetime(2026, 12, 3, 6, 0, 0, 123_000, tzinfo=UTC)
    # the repeated autumn hour in Berlin: SU set is the first (summer) reading
    autumn = Cp56Time(0, 30, 2, 25, 10, 26, invalid=False, summer_time=True)
    berlin = ZoneInfo("Europe/Berlin")
    assert cp56_datetime(autumn, berlin) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    winter = Cp56Time(0, 30, 2, 25, 10, 26, invalid=False, summer_time=False)
    assert cp56_datetime(winter, berlin) == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    assert cp56_datetime(Cp56Time(0, 0, 0, 31, 2, 26, invalid=False, summer_time=False)) is None


# -- the tracker: every change seen ---------------------------------------------------------


def test_a_30_ms_trip_pulse_in_one_burst_is_one_trip_at_the_set_time() -> None:
    net = telecontrol_network()
    points = unit_points(net, "U-RTU")
    trip = points.by_element_point[("CB1", "protection_trip")]
    tracker = UnitTracker(points)
    t = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)
    events = tracker.spontaneous(
        [Change(trip, 1, t), Change(trip, 0, t + ms(30))], received_at=t + ms(80)
    )
    assert [(e.kind, e.device_time, dict(e.payload)) for e in events] == [
        (EventKind.BREAKER_TRIP, t, {"lockout": False})
    ]
    assert tracker.known(trip.ioa) == 0


def test_an_alarm_raised_and_cleared_gives_two_reports_and_a_soe_flush_keeps_order() -> None:
    net = telecontrol_network()
    points = unit_points(net, "U-FTU")
    earth = points.by_element_point[("D2", "earth_fault")]
    sc_a = points.by_element_point[("D2", "short_circuit_a")]
    tracker = UnitTracker(points)
    t = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)
    # a buffered flush arrives out of time order: cleared (t+2 s) before raised (t+1 s)
    changes = [
        Change(earth, 0, t + timedelta(seconds=2)),
        Change(earth, 1, t + timedelta(seconds=1)),
        Change(sc_a, 1, t + timedelta(seconds=3)),
        Change(sc_a, 0, t + timedelta(seconds=3)),  # same tag, same point: still two
    ]
    events = tracker.spontaneous(changes, received_at=t + timedelta(seconds=4))
    seen = [
        (e.device_time - t, e.payload["earth_fault"], e.payload["short_circuit"]) for e in events
    ]
    assert seen == [
        (timedelta(seconds=1), True, False),
        (timedelta(seconds=2), False, False),
        (timedelta(seconds=3), False, True),
        (timedelta(seconds=3), False, False),
    ]


def test_an_invalid_time_tag_takes_the_receipt_time_flagged() -> None:
    net = telecontrol_network()
    points = unit_points(net, "U-RTU")
    lockout = points.by_element_point[("CB1", "lockout")]
    received = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)
    (event,) = UnitTracker(points).spontaneous(
        [Change(lockout, 1, None, time_invalid=True)], received_at=received
    )
    assert event.device_time == received
    assert dict(event.payload) == {"lockout": True, "device_time_invalid": True}


def test_an_interrogation_answer_with_an_invalid_time_tag_is_flagged_too() -> None:
    net = telecontrol_network()
    points = unit_points(net, "U-RTU")
    position = points.by_element_point[("CB1", "switch_closed")]
    received = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)
    tracker = UnitTracker(points)
    (event,) = tracker.interrogated(
        [Change(position, 1, None, time_invalid=True)], received_at=received
    )
    assert (event.kind, event.device_time) == (EventKind.SWITCH_POSITION, received)
    assert dict(event.payload) == {"closed": True, "device_time_invalid": True}
    (again,) = tracker.interrogated([Change(position, 1, None)], received_at=received + ms(5))
    assert dict(again.payload) == {"closed": True}  # a trusted answer: not flagged
    assert again.device_time == received  # unchanged value: its known change time
