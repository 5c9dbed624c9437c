"""Major event days by the 2.5β method (IEEE 1366-2012 4.5).

Daily SAIDI (sustained customer-minutes of the interruptions that began that local day / N_T)
over the history, days with SAIDI = 0 dropped; α and β are the mean and standard deviation of
ln(daily SAIDI) (ddof 1, the sample deviation, by default; a setting, and reported);
T_MED = exp(α + 2.5β). A day of the reporting period whose daily SAIDI exceeds T_MED is a
major event day.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from openoms.reliability._pairs import Pairs
from openoms.reliability.data import ReliabilityArgumentError

__all__ = ["MedThreshold", "daily_saidi", "major_event_days", "med_threshold"]

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]

MED_BETA_FACTOR = 2.5


@dataclass(frozen=True, slots=True)
class MedThreshold:
    """T_MED in minutes, and the statistics behind it (``None`` when given, not computed)."""

    t_med_min: float
    alpha: float | None = None
    beta: float | None = None
    n_days: int = 0
    ddof: int | None = None
    history_years: float | None = None  # from the first history record to the period

    def as_dict(self) -> dict[str, Any]:
        return {
            "t_med_min": self.t_med_min,
            "alpha": self.alpha,
            "beta": self.beta,
            "n_days": self.n_days,
            "ddof": self.ddof,
            "history_years": self.history_years,
        }


def med_threshold(daily_saidi_min: ArrayLike, *, ddof: int = 1) -> MedThreshold:
    """T_MED from a history of daily SAIDI values in minutes (zero days are dropped here).

    >>> round(med_threshold([1.0, 2.0, 4.0]).t_med_min, 4)  # α = ln 2, β = ln 2
    11.3137
    """
    values = np.asarray(daily_saidi_min, dtype=np.float64).ravel()
    if ddof < 0:
        raise ReliabilityArgumentError(
            "Settings.med_ddof", f"Settings.med_ddof: must be 0 or more, got {ddof}"
        )
    if (bad := ~np.isfinite(values) | (values < 0)).any():
        rows = ", ".join(str(int(r)) for r in np.flatnonzero(bad)[:5])
        raise ReliabilityArgumentError(
            "daily_saidi_min", f"daily SAIDI must be finite and >= 0 (day {rows})"
        )
    values = values[values > 0]
    if values.size <= ddof:
        raise ReliabilityArgumentError(
            "daily_saidi_min",
            f"major event days need more than {ddof} history day(s) with SAIDI > 0, "
            f"got {values.size}",
        )
    logs = np.log(values)
    alpha = float(logs.mean())
    beta = float(logs.std(ddof=ddof))
    return MedThreshold(
        t_med_min=float(np.exp(alpha + MED_BETA_FACTOR * beta)),
        alpha=alpha,
        beta=beta,
        n_days=int(values.size),
        ddof=ddof,
    )


def daily_saidi(pairs: Pairs, n_customers: int) -> tuple[I64, F64]:
    """(local day, SAIDI in minutes) of every day with sustained customer-minutes, sorted."""
    if len(pairs) == 0 or n_customers <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
    first = int(pairs.day.min())
    cmi = np.bincount(pairs.day - first, weights=pairs.cmi)
    nonzero = np.flatnonzero(cmi > 0)
    return (nonzero + first).astype(np.int64), cmi[nonzero] / n_customers


def major_event_days(days: I64, saidi_min: F64, threshold: MedThreshold) -> I64:
    """The days whose SAIDI exceeds T_MED."""
    return days[saidi_min > threshold.t_med_min]
