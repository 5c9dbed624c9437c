"""The chart of a predictive reliability run (``openoms reliability predict --report DIR``).

One PNG (matplotlib, Agg): predicted SAIDI per feeder (hours per customer-year, the SAIFI of
each feeder written at the end of its bar) and the components that contribute most
(customer-hours per year). Chinese labels are drawn with the bundled font of the reliability
report (:data:`openoms.viz.reliability_report.FONT_PATH`).
"""

from __future__ import annotations

from pathlib import Path

from openoms.i18n import Lang
from openoms.reliability.predict import Prediction
from openoms.viz.reliability_report import FONT_FAMILY, FONT_PATH

__all__ = ["write_predict_chart"]

_T: dict[str, tuple[str, str]] = {
    "title": ("预测供电可靠性（RELRAD 解析法）", "Predicted reliability (RELRAD)"),
    "saidi": ("SAIDI（小时/户·年），条末为 SAIFI", "SAIDI (h per customer-year); SAIFI at bar end"),
    "top": ("贡献最大的元件（停电时户数/年）", "Largest contributors (customer-hours per year)"),
    "base_customers": ("按低压用户计", "per LV customer"),
    "base_units": ("按用户（台区、高压用户）计", "per user (transformer area, HV customer)"),
}


def _t(key: str, lang: Lang) -> str:
    zh, en = _T[key]
    return zh if lang is Lang.ZH else en


def write_predict_chart(
    prediction: Prediction, folder: Path, *, lang: Lang, feeder_names: dict[str, str]
) -> Path:
    """Write ``reliability_predict_<lang>.png`` into ``folder`` (created); returns its path."""
    import matplotlib as mpl  # noqa: PLC0415  (heavy; only when a report is asked for)

    mpl.use("Agg")
    from matplotlib import font_manager  # noqa: PLC0415
    from matplotlib import pyplot as plt  # noqa: PLC0415

    if FONT_FAMILY not in {f.name for f in font_manager.fontManager.ttflist}:
        font_manager.fontManager.addfont(str(FONT_PATH))
    # a family list, not font.sans-serif: matplotlib falls back glyph by glyph only along it
    plt.rcParams["font.family"] = [FONT_FAMILY, "DejaVu Sans"]
    plt.rcParams["axes.unicode_minus"] = False

    feeders = sorted((f for f in prediction.feeders if f.customers > 0), key=lambda f: f.saidi_h)
    top = list(reversed(prediction.top(12)))
    height = max(4.0, 0.28 * max(len(feeders), len(top)) + 1.5)
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, height))
    base = _t(f"base_{prediction.settings.base}", lang)
    fig.suptitle(f"{_t('title', lang)} — {base}", fontsize=11)

    labels = [f.name for f in feeders]
    left.barh(range(len(feeders)), [f.saidi_h for f in feeders], color="#4a7fb5")
    left.set_yticks(range(len(feeders)), labels, fontsize=7)
    for i, f in enumerate(feeders):
        left.text(f.saidi_h, i, f" {f.saifi:.2f}", va="center", fontsize=6)
    left.set_title(_t("saidi", lang), fontsize=9)

    names = [f"{c.name} ({feeder_names.get(c.feeder, c.feeder)})" for c in top]
    right.barh(range(len(top)), [c.customer_hours for c in top], color="#c0504d")
    right.set_yticks(range(len(top)), names, fontsize=7)
    right.set_title(_t("top", lang), fontsize=9)

    fig.tight_layout()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"reliability_predict_{lang.value}.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
