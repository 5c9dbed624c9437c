"""The data-driven fault location cases (tests/cases/locate/<case>/): the locator's answer
against the hand-derived expected.json (arithmetic in each case's README.md)."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.faults.cases import case_names, load_case


def test_all_eight_cases_are_present() -> None:
    assert case_names() == [
        "01_clean",
        "02_missed",
        "03_silent",
        "04_false_alarm",
        "05_two_faults",
        "06_directional_dg",
        "07_earth_polarity",
        "08_broken_conductor",
    ]


@pytest.mark.parametrize("name", case_names())
def test_case(name: str) -> None:
    locator, options, observations, expected = load_case(name)
    result = locator.locate(observations=observations, **options)
    assert result.best == tuple(expected["best"])
    assert result.ties == tuple(expected["ties"])
    assert sorted(result.region) == sorted(expected["region"])
    assert result.region_mass == pytest.approx(expected["region_mass"], abs=2e-6)
    posteriors = {c.zone: c.posterior for c in result.candidates}
    for zone, posterior in expected["posteriors"].items():
        if posterior > 1e-6:
            assert posteriors[zone] == pytest.approx(posterior, abs=2e-6), zone
        else:
            assert zone not in posteriors, zone
    ranked = [c.posterior for c in result.candidates]
    assert ranked == sorted(ranked, reverse=True)
    contradictions = [
        {"detector": c.detector, "expected": c.expected, "observed": c.observed}
        for c in result.contradictions
    ]
    assert contradictions == expected["contradictions"]
    time = expected["fault_time"]
    assert result.fault_time == (datetime.fromisoformat(time) if time else None)
    assert result.fault_type.value == expected["fault_type"]
    assert list(result.phases) == expected["phases"]
    assert result.permanent is expected["permanent"]
    assert result.signal == expected["signal"]
    assert result.reports_used == expected["reports_used"]
    assert result.devices_no_data == expected["devices_no_data"]
