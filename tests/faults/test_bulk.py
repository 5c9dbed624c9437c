"""``locate_status``: the array entry point gives the answer of ``locate``."""

from __future__ import annotations

import numpy as np
import pytest

from openoms.faults import InvalidObservationError, Observation, Status
from tests.faults.cases import load_case

CODE = {Status.ALARM: 1, Status.NO_ALARM: 0, Status.NO_DATA: -1}


@pytest.mark.parametrize("name", ["01_clean", "02_missed", "03_silent", "04_false_alarm"])
def test_locate_status_equals_locate(name: str) -> None:
    locator, options, observations, _ = load_case(name)
    plain = [Observation(o.detector, o.status) for o in observations]
    expected = locator.locate(observations=plain, **options)
    index = {d: i for i, d in enumerate(locator.network.detectors.id)}
    detectors = np.array([index[o.detector] for o in plain], dtype=np.int64)
    status = np.array([CODE[o.status] for o in plain], dtype=np.int8)
    result = locator.locate_status(options["feeder_id"], detectors, status)
    assert [c.zone for c in result.candidates] == [c.zone for c in expected.candidates]
    assert [c.posterior for c in result.candidates] == pytest.approx(
        [c.posterior for c in expected.candidates], abs=1e-12
    )
    assert [c.log_score for c in result.candidates] == pytest.approx(
        [c.log_score for c in expected.candidates], abs=1e-9
    )
    assert (result.best, result.ties, result.region) == (
        expected.best,
        expected.ties,
        expected.region,
    )
    assert result.contradictions == expected.contradictions
    assert (result.reports_used, result.devices_no_data) == (
        expected.reports_used,
        expected.devices_no_data,
    )


def test_locate_status_names_bad_arrays() -> None:
    locator, _, _, _ = load_case("01_clean")
    with pytest.raises(InvalidObservationError, match=r"detectors\[1\] = 99 is outside 0..5"):
        locator.locate_status("F1", np.array([0, 99]), np.array([1, 0], dtype=np.int8))
    with pytest.raises(InvalidObservationError, match=r"status\[0\] = 2 is not 1, 0 or -1"):
        locator.locate_status("F1", np.array([0]), np.array([2], dtype=np.int8))
    with pytest.raises(InvalidObservationError, match=r"more than once: \['D2'\]"):
        locator.locate_status("F1", np.array([0, 0]), np.array([1, 1], dtype=np.int8))
    with pytest.raises(InvalidObservationError, match=r"status\[1\] = 300 is not 1, 0 or -1"):
        locator.locate_status("F1", np.array([0, 1]), np.array([1, 300]))
    with pytest.raises(InvalidObservationError, match="1-D arrays of one length"):
        locator.locate_status("F1", np.array([0, 1]), np.array([1], dtype=np.int8))
