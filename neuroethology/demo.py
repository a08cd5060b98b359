"""The demo: fit models of a real rat, let them loose in the simulated arena, and hold them against the rat.

``neuroethology demo`` (and ``make demo``) runs :func:`run_demo` on the bundled rat of Sargolini et al. (2006):

1. the first 80% of the 10-minute recording trains, the last 20% is held out;
2. RatInABox's random-motion model is fitted by maximum likelihood (the baseline) and GRU agents by maximum
   likelihood of the rat's actions (:func:`neuroethology.fitting.fit_recording`);
3. the fitted GRU, the fitted baseline and RatInABox's default agent each run freely in the same 1 x 1 m box
   for as long as the held-out part, several animals each;
4. speed, turning rate and distance to the wall are compared with the held-out rat (two-sample KS
   statistics), held-out log-likelihoods are reported, and figures and a report are written.
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
    from .fitting import load_fitted
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
    report = _report(config, split, ks, fit.scores, model, label=label, runs=runs)

    say("[5/5] writing figures and the report")
    figures = _figures(split.heldout, sims, real, samples, arena, out, plots, analysis)
    report["wall_time_s"] = round(time.perf_counter() - start, 1)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "report.md").write_text(_markdown(report))
    say(f"done in {report['wall_time_s']:.0f} s. Figures and report in {out}/:")
    for path in figures + [out / "report.md", out / "report.json"]:
        say(f"  {path}")
    report["network_wins"] = _say_verdict(report, label, say)
    return report


def _demo_config(config: Any, *, seed: int, total_steps: int, num_seeds: int) -> Any:
    """``config``, or the default GRU fit with these settings; refuses a model that is not a network."""
    from .fitting import FitConfig

    if config is None:
        return FitConfig(seed=seed, total_steps=total_steps, model="gru", num_seeds=num_seeds)
    if config.model == "ou":
        raise ValueError("run_demo: the demo fits a network; config.model must be gru, lstm or rnn")
    return config


class _HeldOut(NamedTuple):
    """The held-out end of the recording and where it starts."""

    heldout: xr.Dataset  # the last ``holdout_fraction`` of the recording, preprocessed as the training part
    train_seconds: float  # length of the training part (s)
    duration: float  # length of the held-out part (s)


def _hold_out(rat: xr.Dataset, config: Any) -> _HeldOut:
    """The last ``config.holdout_fraction`` of ``rat``, smoothed as the fit smooths its training part."""
    t = rat["time"].values
    cut = float(t[-1]) + 1e-9 - config.holdout_fraction * (float(t[-1]) + 1e-9 - float(t[0]))
    heldout = rat.isel(time=np.flatnonzero(t >= cut))
    if config.smoothing > 0:  # the held-out rat gets the same preprocessing as the training part
        from .data import smooth

        heldout = smooth(heldout, sigma=config.smoothing)
    return _HeldOut(heldout, cut - float(t[0]), float(heldout["time"][-1] - heldout["time"][0]))


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
        "heldout_log_likelihood_per_step": {
            label: scores["network"]["log_likelihood_per_step"],
            "baseline (fitted)": scores["baseline"]["log_likelihood_per_step"],
            "null (Gaussian)": scores["null"]["log_likelihood_per_step"],
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
    """Print the KS statistics and likelihoods; returns on how many statistics the network is closest."""
    ks, ll = report["ks_vs_heldout"], report["heldout_log_likelihood_per_step"]
    net = report["network"]["model"].upper()
    fitted, base, rib = (ks[k] for k in (label, "baseline (fitted)", "RatInABox default"))
    wins = sum(fitted[s] < min(base[s], rib[s]) for s in STATISTICS)
    say("verdict:")
    say(
        "  KS vs held-out rat (speed / turning / wall): "
        + "; ".join(
            f"{name} {k['speed']:.3f} / {k['turning_rate']:.3f} / {k['wall_distance']:.3f}"
            for name, k in ks.items()
        )
    )
    say(
        f"  held-out log-likelihood per step: {net} {ll[label]:.2f}, baseline {ll['baseline (fitted)']:.2f}, "
        f"null Gaussian {ll['null (Gaussian)']:.2f} nats"
    )
    say(
        f"  the fitted {net} is closest to the rat on {wins} of 3 statistics and "
        f"{'beats' if ll[label] > ll['baseline (fitted)'] else 'does not beat'} the baseline's likelihood"
    )
    return int(wins)


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


def _markdown(report: dict[str, Any]) -> str:
    lines = [
        "# neuroethology demo: fitted models vs a held-out rat",
        "",
        f"Data: {report['data']}. Trained on the first {report['train_seconds']:.0f} s, held out the last "
        f"{report['heldout_seconds']:.0f} s; {report['simulated_animals_per_model']} simulated animals per model. "
        f"Positions smoothed with a Gaussian of s.d. {report['smoothing_s'] * 1000:.0f} ms (training and held-out "
        "parts alike) to remove tracking jitter.",
        "",
        "Two-sample KS statistic against the held-out rat (smaller is closer):",
        "",
        "| model | speed | turning rate | distance to wall |",
        "|---|---:|---:|---:|",
    ]
    for name, k in report["ks_vs_heldout"].items():
        lines.append(f"| {name} | {k['speed']:.3f} | {k['turning_rate']:.3f} | {k['wall_distance']:.3f} |")
    lines += [
        "",
        "Held-out log-likelihood of the rat's actions, nats per step "
        f"({report['heldout_steps_scored']} steps inside the action space):",
        "",
    ]
    for name, v in report["heldout_log_likelihood_per_step"].items():
        lines.append(f"- {name}: {v:.3f}")
    lines += ["", f"Wall time: {report['wall_time_s']} s.", ""]
    return "\n".join(lines)
