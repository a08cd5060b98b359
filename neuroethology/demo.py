"""The demo: fit models of a real rat, let them loose in the simulated arena, and hold them against the rat.

``neuroethology demo`` (and ``make demo``) runs :func:`run_demo` on the bundled rat of Sargolini et al. (2006):

1. the first 80% of the 10-minute recording trains, the last 20% is held out;
2. RatInABox's random-motion model is fitted by maximum likelihood (the baseline) and GRU agents by maximum
   likelihood of the rat's actions (:func:`neuroethology.fitting.fit_recording`);
3. the fitted GRU, the fitted baseline and RatInABox's default agent each run freely in the same 1 x 1 m box
   for as long as the held-out part, several animals each;
4. every metric of ``neuroethology compare`` is measured between each model's simulation and the held-out
   rat, next to the rat's own first-80%-vs-held-out distance as the yardstick
   (:func:`neuroethology.fitting.behaviour_report`; a model is within it on a metric when its distance is no
   larger); the held-out log-likelihoods are reported in nats per step and in bits per step over a Gaussian
   null; figures (speed, turning rate and distance to the wall, with their KS statistics) and a report are
   written.

The demo's fit skips ``fit``'s own behaviour report (``report_metrics``): the demo writes the same table for
all three models itself; and its transfer check (``transfer_arenas``): README's "Out of its box" and
``paper_figures/fig_fitted_rat_large_box.py`` hold the demo's GRU against a rat in a large box instead.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import jax
import numpy as np
import xarray as xr

__all__ = ["run_demo", "ratinabox_default_agent"]

YARDSTICK = "rat: train vs held-out"
STATISTICS = {
    "speed": "speed (m/s)",
    "turning_rate": "turning rate (rad/s, moving)",
    "wall_distance": "distance to wall (m)",
}


def ratinabox_default_agent(duration: float, *, runs: int, dt: float, arena: dict, seed: int) -> xr.Dataset:
    """RatInABox's own ``Agent`` with its default parameters, in the same box, as a Recording."""
    import ratinabox
    from ratinabox.Agent import Agent
    from ratinabox.Environment import Environment

    from .data import from_arrays

    ratinabox.verbose = False
    np.random.seed(seed)  # noqa: NPY002 - RatInABox draws from NumPy's global generator
    steps = int(round(duration / dt))
    tracks = []
    for _ in range(runs):
        env = Environment(
            params={"scale": float(arena["width"]), "aspect": float(arena["height"]) / float(arena["width"])}
        )
        agent = Agent(env, params={"dt": dt})
        for _ in range(steps):
            agent.update()
        tracks.append(np.asarray(agent.history["pos"], float))
    pos = np.stack(tracks, axis=-1)[:, :, None, :]  # (time, space, keypoint, individual)
    return from_arrays(
        pos,
        fps=1.0 / dt,
        individual_names=[f"ratinabox{i}" for i in range(runs)],
        arena=arena,
        source_software="ratinabox",
        attrs={"model": "RatInABox Agent, default parameters"},
    )


def run_demo(
    out: str | Path,
    *,
    seed: int = 0,
    total_steps: int = 1500,
    num_seeds: int = 4,
    runs: int = 8,
    config: Any = None,
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run the demo and write its figures and report to ``out``; returns the numbers of the report.

    ``config`` (a :class:`~neuroethology.fitting.FitConfig`, e.g. from ``configs/fit_open_field.yaml``) replaces
    the fit settings; ``seed``, ``total_steps`` and ``num_seeds`` then come from it."""
    from . import analysis, datasets
    from .analysis import plots
    from .data import arena_of
    from .fitting import behaviour_report, load_fitted
    from .fitting.closed_loop import ks_statistics, movement_samples

    start = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    config = _demo_config(config, seed=seed, total_steps=total_steps, num_seeds=num_seeds)
    label = f"{config.model.upper()} (fitted)"
    run_dir = out / f"fitted_{config.model}"
    if run_dir.exists():
        import shutil

        shutil.rmtree(run_dir)

    say("[1/5] loading the rat of Sargolini et al. (2006), bundled with RatInABox")
    rat = datasets.sargolini()
    arena = arena_of(rat)
    split = _hold_out(rat, config)

    say(f"[2/5] fitting on the first {1 - config.holdout_fraction:.0%} ({split.train_seconds:.0f} s)")
    fit = _fit_with_progress(rat, config, run_dir, say)
    model = load_fitted(run_dir)

    say(
        f"[3/5] simulating {runs} animals x {split.duration:.0f} s of each model in the same {arena['width']:g} x {arena['height']:g} m box"
    )
    sims = _simulate_models(model, label, duration=split.duration, arena=arena, runs=runs, seed=config.seed)
    _save_simulations(sims, out)

    say("[4/5] comparing with the held-out rat")
    real = movement_samples(split.heldout)
    samples = {name: movement_samples(rec) for name, rec in sims.items()}
    ks = {name: ks_statistics(s, real) for name, s in samples.items()}
    behaviour = behaviour_report(
        sims,
        split.train,
        split.heldout,
        yardstick_label=YARDSTICK,
        progress=lambda m: say(f"      {m} vs the held-out rat"),
    )
    report = _report(config, split, ks, fit.scores, model, label=label, runs=runs)
    report["behaviour_vs_heldout"] = behaviour.to_dict()

    say("[5/5] writing figures and the report")
    figures = _figures(split.heldout, sims, real, samples, arena, out, plots, analysis)
    report["wall_time_s"] = round(time.perf_counter() - start, 1)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "report.md").write_text(_markdown(report, behaviour.to_markdown()))
    say(f"done in {report['wall_time_s']:.0f} s. Figures and report in {out}/:")
    for path in figures + [out / "report.md", out / "report.json"]:
        say(f"  {path}")
    report["network_wins"] = _say_verdict(report, label, say)
    return report


def _demo_config(config: Any, *, seed: int, total_steps: int, num_seeds: int) -> Any:
    """``config``, or the default GRU fit with these settings; refuses a model that is not a network."""
    from .fitting import FitConfig

    if config is None:
        config = FitConfig(seed=seed, total_steps=total_steps, model="gru", num_seeds=num_seeds)
    if config.model == "ou":
        raise ValueError("run_demo: the demo fits a network; config.model must be gru, lstm or rnn")
    # The demo reports every model's table itself; the transfer check is the large-box figure's job.
    return dataclasses.replace(config, report_metrics=False, transfer_arenas=())


class _HeldOut(NamedTuple):
    """The held-out end of the recording, the training part before it, and where it starts."""

    heldout: xr.Dataset  # the last ``holdout_fraction`` of the recording, preprocessed as the training part
    train_seconds: float  # length of the training part (s)
    duration: float  # length of the held-out part (s)
    train: xr.Dataset  # the training part, smoothed as the held-out part (the yardstick's other side)


def _hold_out(rat: xr.Dataset, config: Any) -> _HeldOut:
    """The last ``config.holdout_fraction`` of ``rat`` and the rest, each smoothed as the fit smooths."""
    t = rat["time"].values
    cut = float(t[-1]) + 1e-9 - config.holdout_fraction * (float(t[-1]) + 1e-9 - float(t[0]))
    heldout, train = rat.isel(time=np.flatnonzero(t >= cut)), rat.isel(time=np.flatnonzero(t < cut))
    if config.smoothing > 0:  # both parts get the same preprocessing as the fit's training part
        from .data import smooth

        heldout, train = (smooth(part, sigma=config.smoothing) for part in (heldout, train))
    duration = float(heldout["time"][-1] - heldout["time"][0])
    return _HeldOut(heldout, cut - float(t[0]), duration, train)


def _fit_with_progress(rat: xr.Dataset, config: Any, run_dir: Path, say: Callable[[str], None]) -> Any:
    """:func:`~neuroethology.fitting.fit_recording` into ``run_dir`` with a progress bar of its updates."""
    from tqdm.auto import tqdm

    from .fitting import fit_recording

    bar = tqdm(
        total=config.total_steps, desc=f"      {config.model.upper()} updates", unit="upd", leave=False
    )

    def progress(done: int, losses: np.ndarray, val: np.ndarray | None) -> None:
        bar.update(done - bar.n)
        if val is not None:
            bar.set_postfix(val_ll=f"{np.max(val):.2f}")

    fit = fit_recording(rat, config, out=run_dir, say=lambda m: say("      " + m), progress=progress)
    bar.close()
    return fit


def _simulate_models(
    model: Any, label: str, *, duration: float, arena: dict, runs: int, seed: int
) -> dict[str, xr.Dataset]:
    """``runs`` animals of the fitted network, the fitted baseline and RatInABox's default agent, each
    ``duration`` seconds in ``arena``, keyed by the names the report uses."""
    from .fitting import simulate

    return {
        label: simulate(model, duration=duration, key=jax.random.key(seed + 1), num_runs=runs),
        "baseline (fitted)": simulate(
            model._replace(kind="ou"), duration=duration, key=jax.random.key(seed + 2), num_runs=runs
        ),
        "RatInABox default": ratinabox_default_agent(
            duration, runs=runs, dt=float(model.env_params.dt), arena=arena, seed=seed
        ),
    }


def _save_simulations(sims: dict[str, xr.Dataset], out: Path) -> None:
    """Each simulation as ``out/sim_<first word of its name>.nc``."""
    from .data import save

    for name, rec in sims.items():
        save(rec, out / f"sim_{name.split()[0].lower()}.nc")


def _report(
    config: Any, split: _HeldOut, ks: dict, scores: dict, model: Any, *, label: str, runs: int
) -> dict[str, Any]:
    """The demo's numbers (``wall_time_s`` left for the caller to fill in)."""
    return {
        "data": "Sargolini et al. 2006 rat, 1 x 1 m box, 50 Hz (ratinabox/data/sargolini.npz)",
        "smoothing_s": config.smoothing,
        "train_seconds": round(split.train_seconds, 1),
        "heldout_seconds": round(split.duration, 1),
        "simulated_animals_per_model": runs,
        "ks_vs_heldout": ks,
        "heldout_log_likelihood": {
            name: {
                "nats_per_step": scores[key]["log_likelihood_per_step"],
                "bits_per_step_over_null": scores[key]["bits_per_step_over_null"],
            }
            for name, key in (
                (label, "network"),
                ("baseline (fitted)", "baseline"),
                ("null (Gaussian)", "null"),
            )
        },
        "heldout_steps_scored": scores["test_steps"],
        "baseline_params": {
            f.name: float(getattr(model.baseline, f.name)) for f in dataclasses.fields(model.baseline)
        },
        "network": {
            "model": config.model,
            "seeds": config.num_seeds,
            "selected_seed": scores["selected_seed"],
            "updates": scores["updates_of_selected_seed"],
        },
        "wall_time_s": None,
    }


def _say_verdict(report: dict[str, Any], label: str, say: Callable[[str], None]) -> int:
    """Print how many metrics each model is within the rat's yardstick on, and the likelihoods; returns on
    how many metrics the network is the closest of the three models."""
    behaviour, ll = report["behaviour_vs_heldout"], report["heldout_log_likelihood"]
    net = report["network"]["model"].upper()
    counts = behaviour["within_yardstick"]
    n = counts[label]["n"]
    wins = sum(
        _finite(row["models"][label])
        and all(not _finite(v) or row["models"][label] < v for m, v in row["models"].items() if m != label)
        for row in behaviour["distances"].values()
    )
    say("verdict:")
    say(
        f"  metrics within the rat's own train-vs-held-out distance (of {n}): "
        + ", ".join(f"{name} {c['k']}" for name, c in counts.items())
    )
    say(
        "  held-out log-likelihood per step: "
        + ", ".join(
            f"{name} {v['nats_per_step']:.2f} nats ({v['bits_per_step_over_null']:+.2f} bits over the null)"
            for name, v in ll.items()
            if not name.startswith("null")
        )
        + f"; null Gaussian {ll['null (Gaussian)']['nats_per_step']:.2f} nats"
    )
    beats = ll[label]["nats_per_step"] > ll["baseline (fitted)"]["nats_per_step"]
    say(
        f"  the fitted {net} is within the yardstick on {counts[label]['k']} of {n} metrics, the closest of the "
        f"three models on {wins} of {n}, and {'beats' if beats else 'does not beat'} the baseline's likelihood"
    )
    return int(wins)


def _finite(v: Any) -> bool:
    return v is not None and np.isfinite(v)


def _figures(heldout, sims, real, samples, arena, out: Path, plots, analysis) -> list[Path]:
    import matplotlib.pyplot as plt

    plots.apply_style()
    written = []
    groups = {"rat (held out)": heldout, **sims}
    colours = plots.group_colours(list(groups))
    fig, axes = plt.subplots(1, len(groups), figsize=(2.0 * len(groups), 2.3), layout="constrained")
    for ax, (name, rec) in zip(axes, groups.items(), strict=True):
        first = rec.isel(individual=[0])
        plots.plot_trajectory(first, arena=arena, ax=ax, color=colours[name], linewidth=0.4)
        ax.set_title(name)
    for ax in axes[1:]:
        ax.set_ylabel("")
        ax.tick_params(labelleft=False)
    written += plots.save_figure(fig, out / "trajectories")
    fig, axes = plt.subplots(1, 3, figsize=(7.0, 2.6), layout="constrained")
    for ax, (stat, label) in zip(axes, STATISTICS.items(), strict=True):
        plots.plot_distributions(
            [real[stat]] + [samples[name][stat] for name in sims], labels=list(groups), xlabel=label, ax=ax
        )
        legend = ax.get_legend()
        if legend is not None:
            legend.remove()
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper center", ncol=len(labels), frameon=False)
    written += plots.save_figure(fig, out / "distributions")
    fig, axes = plt.subplots(1, len(groups), figsize=(2.0 * len(groups), 2.2), layout="constrained")

    def pooled_occupancy(rec):
        total = sum(
            analysis.compute_occupancy(one, bin_size=0.05, arena=arena)
            for one in analysis.split_individuals(rec)
        )
        return total / float(total.sum())

    maps = {name: pooled_occupancy(rec) for name, rec in groups.items()}
    vmax = max(float(m.max()) for m in maps.values())
    for ax, (name, occ) in zip(axes, maps.items(), strict=True):
        plots.plot_occupancy(occ, arena=arena, ax=ax, vmax=vmax, colorbar=False)
        ax.set_title(name)
    for ax in axes[1:]:
        ax.set_ylabel("")
        ax.tick_params(labelleft=False)
    written += plots.save_figure(fig, out / "occupancy")
    return written


def _markdown(report: dict[str, Any], table: str) -> str:
    """report.md: every metric against the held-out rat with the yardstick (``table``, Markdown), the three
    statistics of the distributions figure, and the held-out likelihoods."""
    lines = [
        "# neuroethology demo: fitted models vs a held-out rat",
        "",
        f"Data: {report['data']}. Trained on the first {report['train_seconds']:.0f} s, held out the last "
        f"{report['heldout_seconds']:.0f} s; {report['simulated_animals_per_model']} simulated animals per model. "
        f"Positions smoothed with a Gaussian of s.d. {report['smoothing_s'] * 1000:.0f} ms (training and held-out "
        "parts alike) to remove tracking jitter.",
        "",
        "Every metric of `neuroethology compare`, each model's simulation against the held-out rat, and the "
        "rat's own training part against its held-out part as the yardstick (the yardstick is one split of one "
        "rat: it has sampling noise of its own):",
        "",
        table.rstrip("\n"),
        "",
        "The statistics of the distributions figure (two-sample KS against the held-out rat):",
        "",
        "| model | speed | turning rate | distance to wall |",
        "|---|---:|---:|---:|",
    ]
    for name, k in report["ks_vs_heldout"].items():
        lines.append(f"| {name} | {k['speed']:.3f} | {k['turning_rate']:.3f} | {k['wall_distance']:.3f} |")
    lines += [
        "",
        f"Held-out log-likelihood of the rat's actions ({report['heldout_steps_scored']} steps inside the action "
        "space; RatInABox's default agent is not scored, it was not fitted):",
        "",
        "| model | nats per step | bits per step over the null |",
        "|---|---:|---:|",
    ]
    for name, v in report["heldout_log_likelihood"].items():
        lines.append(f"| {name} | {v['nats_per_step']:.3f} | {v['bits_per_step_over_null']:+.3f} |")
    lines += ["", f"Wall time: {report['wall_time_s']} s.", ""]
    return "\n".join(lines)
