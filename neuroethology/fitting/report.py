"""The honest report of a fitted model: every metric of ``neuroethology compare`` between the model's free
simulation and the animal's held-out part, each next to the animal's own train-vs-held-out distance.

A distance alone does not say whether a model is close: the animal is not identical to itself either. Its
training part and its held-out part differ by sampling noise (a finite stretch of an autocorrelated path)
and by drift over the session (habituation, fatigue). :func:`behaviour_report` measures that distance with
the same metric, the same settings and the same resampling units as the models' distances, and calls it the
*yardstick*: a model is within the yardstick on a metric when its distance to the held-out part is no larger
than the animal's own.

Every distance is the one :func:`neuroethology.analysis.compare_groups` reports for the metric's kind: the
two-sample Kolmogorov-Smirnov statistic of the pooled samples for distributions (speed per frame, step
lengths, ...), the KS statistic of the per-block values for per-unit scalars (coverage, MSD exponent, ...;
one value per time block), and the Jensen-Shannon divergence (base 2) of the occupancy maps.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

__all__ = ["BehaviourReport", "MetricDistances", "behaviour_report"]

#: The distance each kind of metric is measured with (what ``compare`` reports for it).
DISTANCE_OF_KIND = {"distribution": "KS", "scalar": "KS (per block)", "map": "JSD"}


@dataclass(frozen=True)
class MetricDistances:
    """One metric's row: the distance of each model's simulation to the held-out part (``None`` where the
    model could not be compared on it) and the animal's own train-vs-held-out distance."""

    name: str
    label: str
    units: str
    distance: str  # "KS", "KS (per block)" or "JSD"
    yardstick: float
    models: dict[str, float | None]

    def within(self, model: str) -> bool:
        """Whether ``model``'s distance is at most the yardstick (a model not compared is not within)."""
        d = self.models[model]
        return d is not None and math.isfinite(d) and d <= self.yardstick


@dataclass(frozen=True)
class BehaviourReport:
    """What :func:`behaviour_report` measured: rows are metrics (in ``compare``'s order), columns are the
    models and the yardstick."""

    models: tuple[str, ...]
    rows: tuple[MetricDistances, ...]
    yardstick_label: str
    block_duration: float  # s: the time blocks that per-block scalars are computed on
    units: dict[str, str]  # what each column holds (animals, seconds), and the two parts of the animal
    skipped: dict[str, str] = field(default_factory=dict)  # metrics not compared at all, with the reason
    notes: tuple[str, ...] = ()  # metrics a model could not be compared on, with the reason

    def __getitem__(self, name: str) -> MetricDistances:
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(f"no metric {name!r} in this report (compared: {[r.name for r in self.rows]})")

    @property
    def names(self) -> list[str]:
        return [r.name for r in self.rows]

    def within(self, model: str) -> dict[str, bool]:
        """Per metric, whether ``model`` is within the yardstick."""
        if model not in self.models:
            raise KeyError(f"no model {model!r} in this report (models: {list(self.models)})")
        return {r.name: r.within(model) for r in self.rows}

    def count(self, model: str) -> tuple[int, int]:
        """``(k, n)``: ``model`` is within the yardstick on ``k`` of the ``n`` metrics compared."""
        within = self.within(model)
        return sum(within.values()), len(within)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (NaN becomes ``None``)."""
        return _jsonable(
            {
                "distances": {
                    r.name: {
                        "label": r.label,
                        "units": r.units,
                        "distance": r.distance,
                        "models": dict(r.models),
                        "yardstick": r.yardstick,
                        "within": {m: r.within(m) for m in self.models},
                    }
                    for r in self.rows
                },
                "within_yardstick": {
                    m: dict(zip(("k", "n"), self.count(m), strict=True)) for m in self.models
                },
                "yardstick": self.yardstick_label,
                "block_duration_s": self.block_duration,
                "units": self.units,
                "skipped": self.skipped,
                "notes": list(self.notes),
            }
        )

    def to_markdown(self) -> str:
        """The table: one row per metric, a column per model (``*`` marks a distance within the yardstick)
        and the yardstick column, then the count per model."""
        head = f"| metric | distance | {' | '.join(self.models)} | {self.yardstick_label} (yardstick) |"
        lines = [head, "|---|---|" + "---:|" * (len(self.models) + 1)]
        for r in self.rows:
            cells = [_cell(r.models[m], r.within(m)) for m in self.models]
            lines.append(f"| {r.label} | {r.distance} | {' | '.join(cells)} | {r.yardstick:.3f} |")
        counts = [f"**{k} of {n}**" for k, n in map(self.count, self.models)]
        lines.append(f"| within the yardstick | | {' | '.join(counts)} | |")
        lines += [
            "",
            "`*`: within the yardstick (the distance to the held-out part is no larger than the "
            f"{self.yardstick_label} distance). KS: two-sample Kolmogorov-Smirnov statistic of the pooled "
            f"samples; KS (per block): of the values per {self.block_duration:.3g}-s time block; JSD: "
            "Jensen-Shannon divergence of the occupancy maps (base 2). Smaller is closer.",
        ]
        lines += [f"- {k}: {v}" for k, v in self.units.items()]
        if self.notes:
            lines += ["", *(f"- not compared: {n}" for n in self.notes)]
        return "\n".join(lines) + "\n"


def behaviour_report(
    simulated: Mapping[str, xr.Dataset],
    train: xr.Dataset,
    heldout: xr.Dataset,
    *,
    metrics: Sequence[str] | None = None,
    block_duration: float | None = None,
    yardstick_label: str = "animal: train vs held-out",
    progress: Callable[[str], None] | None = None,
) -> BehaviourReport:
    """Every metric ``compare`` supports on these recordings, for each model's free simulation against the
    animal's held-out part, with the animal's own training part against its held-out part as the yardstick.

    Args:
        simulated: model name -> its free simulation (a Recording; several animals as individuals).
        train, heldout: the animal's training and held-out parts, preprocessed alike (the same smoothing:
            the distances are only comparable when the parts were treated the same way).
        metrics: names from :data:`neuroethology.analysis.METRICS` (default: every one; those the held-out
            part cannot support, e.g. task metrics of a recording without a task, are left out with the
            reason in ``skipped``).
        block_duration: seconds of the time blocks (default: a tenth of the held-out part, as ``compare``).
        yardstick_label: the name of the yardstick column.
        progress: called with a short message before each comparison.

    What the units of comparison are: the held-out part is one animal for a short time, a simulation several
    animals. Every comparison cuts every recording into time blocks of one duration, as ``compare_groups``
    does when a group has too few individuals, and the held-out part is the reference from which
    ``compare``'s shared settings (arena, length scale, speed threshold, MSD lags) are derived, so every
    column is measured with one ruler.

    What the yardstick is: one split of one animal. It contains the animal's sampling noise at these
    durations and its drift between the two parts of the session. It is not a confidence bound: it is
    itself one noisy draw (another split would give another value), and a model within it on a metric is
    not shown to be indistinguishable from the animal there. The groups' sizes differ (the training part
    is usually longer than the held-out part, a simulation of several animals longer still); a longer
    sample has a smaller noise floor, so a model with more simulated time than the training part is held
    to a slightly more lenient standard than if both were equally long. Marginal distances say nothing
    about joint structure the metrics do not measure. Because both sides are noisy, even the true model is
    not within the yardstick on every metric: random-motion simulations held against two halves of another
    simulation of the same model (the setting of ``tests/unit/fitting/test_report.py``, 4 x 240 s against
    240 s halves) were within it on 8 to 12 of 13 metrics over four seeds.

    Raises:
        ValueError: no models, a model named like the yardstick, or recordings ``compare`` refuses.
    """
    from ..analysis import compare_groups

    if not simulated:
        raise ValueError("behaviour_report: no simulated models to report on")
    if yardstick_label in simulated:
        raise ValueError(f"behaviour_report: a model is named like the yardstick column {yardstick_label!r}")
    block = _heldout_block(heldout) if block_duration is None else float(block_duration)

    def compare(sim: xr.Dataset, label: str):
        if progress:
            progress(label)
        # Distances need no resampling: one bootstrap resample and one permutation, the fewest compare takes.
        return compare_groups(
            sim,
            heldout,
            metrics=metrics,
            labels=(label, "held-out part"),
            resample_by="block",
            block_duration=block,
            n_bootstrap=1,
            n_permutations=1,
        )

    own = compare(train, "training part")
    reports = {name: compare(sim, name) for name, sim in simulated.items()}
    rows, notes = [], []
    for m in own.metrics:
        values: dict[str, float | None] = {}
        for name, rep in reports.items():
            if m.name in rep.names:
                values[name] = _distance(rep[m.name])
            else:
                values[name] = None
                notes.append(f"{name}, {m.label}: {rep.skipped.get(m.name, 'not computed')}")
        rows.append(MetricDistances(m.name, m.label, m.units, DISTANCE_OF_KIND[m.kind], _distance(m), values))
    units = {
        "training part": _describe(train),
        "held-out part": _describe(heldout),
        **{name: _describe(sim) for name, sim in simulated.items()},
    }
    return BehaviourReport(
        models=tuple(simulated),
        rows=tuple(rows),
        yardstick_label=yardstick_label,
        block_duration=block,
        units=units,
        skipped=dict(own.skipped),
        notes=tuple(notes),
    )


def _distance(m) -> float:
    """The distance ``compare`` reports for a metric's kind (see the module docstring)."""
    return float(m.jensen_shannon if m.kind == "map" else m.ks_statistic)


def _heldout_block(heldout: xr.Dataset) -> float:
    """A tenth of the held-out part's clock time summed over its individuals (``compare``'s default when
    the held-out part is the shorter group)."""
    t = np.asarray(heldout["time"].values, float)
    if t.size < 2:
        raise ValueError("behaviour_report: the held-out part has fewer than two samples")
    span = float(t[-1] - t[0] + np.median(np.diff(t)))
    return span * heldout.sizes.get("individual", 1) / 10


def _describe(rec: xr.Dataset) -> str:
    t = np.asarray(rec["time"].values, float)
    n = rec.sizes.get("individual", 1)
    seconds = float(t[-1] - t[0] + np.median(np.diff(t))) if t.size > 1 else 0.0
    return f"{n} animal{'s' if n != 1 else ''} x {seconds:.0f} s"


def _cell(value: float | None, within: bool) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value:.3f}{' *' if within else ''}"


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(float(x)) else None
    if isinstance(x, (int, np.integer)):
        return int(x)
    return x
