"""Model structure chosen by the data: a sweep of fit settings ranked by cross-validated likelihood and by
closed-loop behaviour (``neuroethology select``).

Each candidate is one :class:`~.config.FitConfig` (the base config with some keys changed: the model -- GRU, LSTM,
leaky RNN or the random-motion model ``ou`` --, the hidden size, or any other key, e.g. the inputs' noise or the
targets' warp), fitted by :func:`~.pipeline.fit_recording` into its own run directory with ``folds``-fold
cross-validation over contiguous time blocks and the behaviour report (every ``compare`` metric of a free
simulation against the held-out part, with the animal's own train-vs-held-out distance as the yardstick). Within a
candidate the network's seeds are trained at once (``vmap``); candidates of different shapes are fitted one after
the other.

Two rankings: by the cross-validated held-out log-likelihood (mean over folds, bits per step over the Gaussian
null), and by closed-loop behaviour (metrics within the yardstick, more is better; ties broken by the median over
metrics of distance / yardstick). The chosen network is the one with the best mean of its two ranks (ties: the
better likelihood); ``ou`` is ranked with the others but is not a network (the table says where it wins).

A finished candidate (its ``model.json`` written) is reused when the sweep is run again; an unfinished one
resumes from its checkpoint; the table is rewritten after every candidate, so an interrupted sweep loses nothing.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import shutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .config import FitConfig

__all__ = ["candidate_label", "select_models", "sweep_candidates"]

SCORE = "cv_bits_per_step"  # the likelihood ranking's column
#: FitConfig keys that only the networks read: the random-motion model ``ou`` is one candidate whatever they are.
NETWORK_KEYS = frozenset(
    {"total_steps", "hidden_size", "head_components", "image", "num_seeds", "learning_rate", "batch_size", "window", "burn_in",
     "speed_offset", "turn_scale", "self_motion_noise", "noise_inputs", "patience", "select"}
)  # fmt: skip


def sweep_candidates(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of ``grid``'s values (``{"model": ["gru", "ou"], "hidden_size": [32, 64]}``), as override
    mappings; for ``ou`` the keys of :data:`NETWORK_KEYS` are dropped (it has no network), so it appears once per
    combination of the keys it does read (``smoothing``, ``min_speed``, ...)."""
    keys = list(grid)
    out, seen = [], set()
    for values in itertools.product(*(grid[k] for k in keys)):
        cand = dict(zip(keys, values, strict=True))
        if cand.get("model") == "ou":
            cand = {k: v for k, v in cand.items() if k not in NETWORK_KEYS}
        key = json.dumps(cand, sort_keys=True, default=str)
        if key not in seen:
            seen.add(key)
            out.append(cand)
    return out


def candidate_label(overrides: Mapping[str, Any]) -> str:
    """A folder-safe name: ``gru-hidden_size64``."""
    parts = [str(overrides.get("model", "gru"))]
    parts += [f"{k}{v}" for k, v in sorted(overrides.items()) if k != "model"]
    return "-".join(parts).replace("/", "_").replace(" ", "")


def _bits(fold: Mapping[str, Any], name: str) -> float:
    entry = fold.get(name) or {}
    return float(entry.get("bits_per_step_over_null", math.nan))


def _row(label: str, overrides: Mapping[str, Any], scores: Mapping[str, Any]) -> dict[str, Any]:
    """One candidate's table row from its fit's scores."""
    name = "baseline" if overrides.get("model") == "ou" else "network"
    folds = (scores.get("cross_validation") or {}).get("folds") or []
    cv = np.array([_bits(f, name) for f in folds], float)
    row: dict[str, Any] = {"candidate": label, **{k: v for k, v in overrides.items()}}
    row[SCORE] = float(np.mean(cv)) if cv.size else math.nan
    row["cv_sd"] = float(np.std(cv)) if cv.size else math.nan
    row["folds"] = int(cv.size)
    row["heldout_bits_per_step"] = _bits(scores, name)
    behaviour = scores.get("behaviour_vs_heldout") or {}
    distances = behaviour.get("distances") or {}
    if distances:
        ratios = []
        for metric, d in distances.items():
            value = next(iter(d["models"].values()))
            row[f"d_{metric}"] = value
            if value is not None and d["yardstick"] is not None and d["yardstick"] > 0:
                ratios.append(value / d["yardstick"])
        count = next(iter(behaviour["within_yardstick"].values()))  # the report's own count
        row["within_yardstick"] = int(count["k"])
        row["metrics"] = int(count["n"])
        row["median_distance_over_yardstick"] = float(np.median(ratios)) if ratios else math.nan
    else:
        row.update(within_yardstick=-1, metrics=0, median_distance_over_yardstick=math.nan)
        row["closed_loop_note"] = behaviour.get("not_computed", "not computed")
    row["wall_time_s"] = float(scores.get("wall_time_s", math.nan))
    return row


def _rank(table: pd.DataFrame) -> pd.DataFrame:
    table = table.copy()
    table["rank_likelihood"] = table[SCORE].rank(ascending=False, method="min", na_option="bottom")
    closed = list(
        zip(-table["within_yardstick"], table["median_distance_over_yardstick"].fillna(np.inf), strict=True)
    )
    order = sorted(range(len(closed)), key=lambda i: closed[i])
    ranks = np.empty(len(closed))
    for position, i in enumerate(order):  # ties share the better rank
        prev = order[position - 1] if position else None
        ranks[i] = ranks[prev] if prev is not None and closed[prev] == closed[i] else position + 1
    table["rank_closed_loop"] = ranks
    table["mean_rank"] = (table["rank_likelihood"] + table["rank_closed_loop"]) / 2
    return table.sort_values(["mean_rank", "rank_likelihood"]).reset_index(drop=True)


def _fit_candidate(rec, base: FitConfig, overrides, folds: int, run_dir: Path, arena, say) -> dict[str, Any]:
    from ..config import config_to_dict, load_config
    from .pipeline import fit_recording

    model_json = run_dir / "model.json"
    config = dataclasses.replace(base, **overrides, folds=folds, report_metrics=True, transfer_arenas=())
    if model_json.exists():
        saved = config_to_dict(load_config(run_dir / "config.yaml", schema=FitConfig))
        differ = sorted(k for k, v in config_to_dict(config).items() if saved.get(k) != v)
        if differ:
            raise ValueError(
                f"{run_dir} holds a finished fit with other settings ({', '.join(differ)}); give another --out "
                "(select reuses a finished candidate only when its settings are the same)"
            )
        say(f"  {run_dir.name}: reusing the finished fit")
        return json.loads(model_json.read_text())["scores"]
    resume = run_dir.exists() and any(run_dir.iterdir())
    result = fit_recording(
        rec, config, arena=arena, out=run_dir, resume=resume, say=lambda m: say("    " + m)
    )
    return result.scores


def select_models(
    rec: xr.Dataset,
    candidates: Sequence[Mapping[str, Any]],
    *,
    out: str | Path,
    base: FitConfig | None = None,
    folds: int = 3,
    arena: Any = None,
    say: Callable[[str], None] = print,
) -> pd.DataFrame:
    """Fit every candidate (see the module docstring) into ``out/runs/LABEL``; write ``out/selection.csv``,
    ``selection.md``, ``selection.json`` and ``selection.{pdf,png}``, copy the chosen network's run to
    ``out/chosen``; return the ranked table (``chosen`` column)."""
    if folds < 2:
        raise ValueError(f"select: folds must be >= 2 for a cross-validated likelihood, got {folds}")
    if not candidates:
        raise ValueError("select: no candidates to fit")
    base = base or FitConfig()
    out = Path(out)
    (out / "runs").mkdir(parents=True, exist_ok=True)
    rows = []
    for i, given in enumerate(candidates):
        overrides = {"model": base.model, **dict(given)}
        label = candidate_label(overrides)
        say(f"[{i + 1}/{len(candidates)}] {label}: fitting with {folds}-fold cross-validation")
        scores = _fit_candidate(rec, base, dict(overrides), folds, out / "runs" / label, arena, say)
        rows.append(_row(label, overrides, scores))
        table = _write(out, _rank(pd.DataFrame(rows)), folds)
    chosen = table.loc[table["chosen"]]
    if len(chosen):
        target = out / "chosen"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(out / "runs" / chosen["candidate"].iloc[0], target)
        say(f"chosen: {chosen['candidate'].iloc[0]} (copied to {target})")
    return table


def _write(out: Path, table: pd.DataFrame, folds: int) -> pd.DataFrame:
    networks = table["model"] != "ou"
    table["chosen"] = False
    if networks.any():
        table.loc[table.index[networks][0], "chosen"] = True
    table.to_csv(out / "selection.csv", index=False)
    (out / "selection.md").write_text(markdown_table(table, folds))
    (out / "selection.json").write_text(
        json.dumps({"folds": folds, "rows": json.loads(table.to_json(orient="records"))}, indent=2) + "\n"
    )
    _figure(table, out)
    return table


def markdown_table(table: pd.DataFrame, folds: int) -> str:
    """The ranked table as Markdown: likelihood, closed loop, ranks, time."""
    lines = [
        "| candidate | CV bits/step over null (mean +- sd) | held-out bits/step | metrics within yardstick | "
        "median distance / yardstick | rank: likelihood / closed loop | fit time (s) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for _, r in table.iterrows():
        mark = " **(chosen)**" if r["chosen"] else ""
        within = f"{int(r['within_yardstick'])} of {int(r['metrics'])}" if r["metrics"] else "not computed"
        lines.append(
            f"| {r['candidate']}{mark} | {r[SCORE]:+.3f} +- {r['cv_sd']:.3f} | {r['heldout_bits_per_step']:+.3f} | "
            f"{within} | {r['median_distance_over_yardstick']:.2f} | {int(r['rank_likelihood'])} / "
            f"{int(r['rank_closed_loop'])} | {r['wall_time_s']:.0f} |"
        )
    lines += [
        "",
        f"CV: {folds} contiguous time blocks, each held out in turn. Closed loop: every compare metric of a free "
        "simulation against the held-out part; the yardstick is the animal's own train-vs-held-out distance.",
    ]
    return "\n".join(lines) + "\n"


def _figure(table: pd.DataFrame, out: Path) -> None:
    import matplotlib.pyplot as plt

    from ..analysis.plots import apply_style, save_figure

    apply_style()
    fig, (a, b) = plt.subplots(
        1, 2, figsize=(7.0, 0.35 * len(table) + 1.2), layout="constrained", sharey=True
    )
    y = np.arange(len(table))[::-1]
    colours = ["#d95f02" if c else "0.4" for c in table["chosen"]]
    a.errorbar(table[SCORE], y, xerr=table["cv_sd"], fmt="none", ecolor="0.6", lw=1)
    a.scatter(table[SCORE], y, c=colours, s=16, zorder=3)
    a.axvline(0, color="k", lw=0.6)
    a.set_yticks(y, table["candidate"])
    a.set_xlabel("CV held-out bits / step over null")
    b.barh(y, table["within_yardstick"].clip(lower=0), color=colours)
    b.set_xlabel("metrics within the yardstick")
    for ax, letter in ((a, "a"), (b, "b")):
        ax.set_title(letter, loc="left", fontweight="bold")
    save_figure(fig, out / "selection")
