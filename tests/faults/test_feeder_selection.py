"""Earth-fault feeder selection (选线) from the feeder heads' transient polarity.

A bus with three feeders F1, F2, F3, an earth fault on F1. The transient zero-sequence
current of each healthy feeder is its own capacitive current, flowing from the line into the
bus: against the head's reference direction (bus → line), so its head reads −1. The faulted
feeder's head carries the sum of every other capacitive current, flowing from the bus into
the line toward the fault: +1. So the expected readings are F1 +1, F2 −1, F3 −1, and F1 is
the one head whose polarity is opposite to all others. Amplitudes, where given: the faulted
head carries the sum of the others' (here 12 A + 8 A = 20 A, and more from the bus side).
"""

from __future__ import annotations

from openoms.faults.feeder_selection import HeadReading, SelectionOutcome, select_feeder

BUS = ("F1", "F2", "F3")


def test_the_head_with_the_opposite_polarity_is_the_faulted_feeder() -> None:
    selection = select_feeder(
        BUS, [HeadReading("F1", 1), HeadReading("F2", -1), HeadReading("F3", -1)]
    )
    assert (selection.outcome, selection.feeder, selection.by) == (
        SelectionOutcome.FEEDER,
        "F1",
        "polarity",
    )
    assert (selection.healthy, selection.missing) == (("F2", "F3"), ())
    assert selection.reason_zh.startswith("F1 首端暂态零序极性为正")
    assert "opposite" in selection.reason_en


def test_the_order_of_the_readings_does_not_matter() -> None:
    readings = [HeadReading("F3", -1), HeadReading("F2", -1), HeadReading("F1", 1)]
    assert select_feeder(BUS, readings).feeder == "F1"
    # a reading of a feeder of another bus is not counted
    assert select_feeder(BUS, [*readings, HeadReading("F9", 1)]).feeder == "F1"


def test_a_missing_healthy_head_does_not_stop_the_selection() -> None:
    selection = select_feeder(BUS, [HeadReading("F1", 1), HeadReading("F3", -1)])
    assert (selection.outcome, selection.feeder) == (SelectionOutcome.FEEDER, "F1")
    assert (selection.healthy, selection.missing) == (("F3",), ("F2",))


def test_the_faulted_head_missing_is_found_by_elimination_and_said_so() -> None:
    # F2 and F3 read −1 (healthy), F1 sent nothing: F1 by elimination; a bus fault would
    # give the same two readings, which the reason says
    selection = select_feeder(BUS, [HeadReading("F2", -1), HeadReading("F3", -1)])
    assert (selection.outcome, selection.feeder, selection.by) == (
        SelectionOutcome.FEEDER,
        "F1",
        "elimination",
    )
    assert "bus fault would look the same" in selection.reason_en
    assert "母线接地" in selection.reason_zh


def test_every_head_the_same_polarity_is_a_bus_fault() -> None:
    # the fault on the bus: every feeder's capacitive current flows into the bus, all −1
    selection = select_feeder(BUS, [HeadReading(f, -1) for f in BUS])
    assert (selection.outcome, selection.feeder) == (SelectionOutcome.BUS, None)
    assert "bus" in selection.reason_en
    assert "母线接地" in selection.reason_zh


def test_two_heads_missing_is_undecidable() -> None:
    selection = select_feeder(BUS, [HeadReading("F2", -1)])
    assert (selection.outcome, selection.feeder) == (SelectionOutcome.UNDECIDABLE, None)
    assert selection.missing == ("F1", "F3")
    assert "cannot be selected" in selection.reason_en
    assert "无法选线" in selection.reason_zh


def test_amplitude_decides_between_two_heads_reading_plus() -> None:
    # F2's head reads +1 wrongly; F1 carries the others' capacitive current: 20 A > 8 A
    readings = [
        HeadReading("F1", 1, 20.0),
        HeadReading("F2", 1, 8.0),
        HeadReading("F3", -1, 12.0),
    ]
    selection = select_feeder(BUS, readings)
    assert (selection.outcome, selection.feeder, selection.by) == (
        SelectionOutcome.FEEDER,
        "F1",
        "amplitude",
    )
    assert selection.healthy == ("F2", "F3")
    # without amplitudes the two +1 heads cannot be told apart
    selection = select_feeder(BUS, [HeadReading("F1", 1), HeadReading("F2", 1)])
    assert selection.outcome is SelectionOutcome.UNDECIDABLE


def test_amplitude_alone_when_no_head_gives_a_polarity() -> None:
    readings = [HeadReading("F1", None, 20.0), HeadReading("F2", None, 8.0)]
    readings.append(HeadReading("F3", None, 12.0))
    selection = select_feeder(BUS, readings)
    assert (selection.feeder, selection.by) == ("F1", "amplitude")
    # equal amplitudes decide nothing
    tied = [HeadReading("F1", None, 10.0), HeadReading("F2", None, 10.0)]
    tied.append(HeadReading("F3", None, 5.0))
    assert select_feeder(BUS, tied).outcome is SelectionOutcome.UNDECIDABLE


def test_one_feeder_on_the_bus_is_the_faulted_one() -> None:
    selection = select_feeder(["F1"], [])
    assert (selection.outcome, selection.feeder, selection.by) == (
        SelectionOutcome.FEEDER,
        "F1",
        "only_feeder",
    )
