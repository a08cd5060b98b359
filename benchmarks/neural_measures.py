"""Rate maps, Skaggs spatial information and the grid score, each with 100 circular-shift shuffles, for 512
units over one hour at 50 Hz (180,000 samples) in a 1 x 1 m box at 2.5 cm bins: ``neuroethology.analysis.neural``
against a plain NumPy/SciPy loop of the same arithmetic, both measured in this run (issue 12's benchmark).

    nice .venv/bin/python benchmarks/neural_measures.py          # --units 512 --hours 1 --shuffles 100 --repeats 3
    .venv/bin/python benchmarks/neural_measures.py --quick       # a small smoke run

The session: a RatInABox-like walk (Ornstein-Uhlenbeck speed and turning rate, reflected into the box, 1 % of
samples lost in 5-sample tracking gaps), a third each of grid cells (0.3-0.6 m), place cells and untuned units,
Poisson spike counts per 20 ms sample.

Each stage is a full shuffle test: the scores of the unshuffled activity and of ``--shuffles`` circular shifts.

* ours, sparse (the table's first four rows): :func:`~neuroethology.analysis.neural.shuffles.make_map_shuffle_test`
  on :func:`~neuroethology.analysis.neural.tuning.make_rate_map_fn`'s maps (occupancy-normalised,
  Gaussian-smoothed, min-occupancy mask). A shift of the spikes against the path is a shift of the path's bins
  against the spikes, so each shuffled numerator map is summed over the unit's spiking samples only (~2-4 % of
  samples here) instead of all ``T``; the maps of every shuffle are then scored by each of the row's measures in
  one jitted call: the maps' peak rate ("rate maps"; every map is used), ``"bits_per_spike"`` ("spatial
  information") and :func:`~neuroethology.analysis.neural.grid.make_grid_score_fn`'s Sargolini grid score
  (autocorrelogram, six peaks, annulus correlations with the 30-150 degree rotations). The row with both
  scores makes each shuffle's maps once for the two.
* ours, dense (the last row): :func:`~neuroethology.analysis.neural.shuffles.shuffle_null` on the peak rate of
  ``make_rate_map_fn``'s maps of :func:`~neuroethology.analysis.neural.shuffles.shift_activity`'s whole
  ``(T, U)`` shifted activity, the path any activity (rates, dF/F) takes.
  Compile time (XLA compile and lowering, as ``jax.monitoring`` reports them; both paths compile once per shape)
  is shown separately (the first call's; the repeats reuse its program) and left out of ``ours``.
* reference: for each unit and shuffle, ``np.roll``, ``np.bincount`` on bins computed once,
  ``scipy.ndimage.gaussian_filter`` of the numerator (occupancy smoothed once), the Skaggs sum, an
  autocorrelogram of six ``scipy.signal.fftconvolve`` sums (Pearson r over the overlap), the central-peak
  radius, six peaks by ``maximum_filter``, rotations by ``map_coordinates`` and Pearson correlations: the
  arithmetic of ours, step by step, as a lab script writes it. It runs on ``--ref-units`` x ``--ref-shuffles``
  (the full size would take long); its full-size figure is the measured time per unit-shuffle x the number of
  unit-shuffles. Ours is also run at that subset, so the ratio at equal size is measured, not extrapolated.

All times are medians of ``--repeats`` runs, in seconds; results are pulled to NumPy, so nothing is left unrun.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from scipy import ndimage, signal

from neuroethology.analysis.neural import grid as ng
from neuroethology.analysis.neural import shuffles as ns
from neuroethology.analysis.neural import tuning as nt

BOX = (0.0, 1.0, 0.0, 1.0)  # metres
BIN = 0.025  # metres
SIGMA = 0.0375  # metres (1.5 bins), the package's default
MIN_OCCUPANCY = 0.1  # seconds
MIN_SHIFT = 20.0  # seconds
MIN_OVERLAP = 20  # bins, the autocorrelogram's
CENTRAL_THRESHOLD = 0.1
PEAK_THRESHOLD = 0.0
PEAK_NEIGHBOURHOOD = 0.05  # metres
STAGES = ("rate maps", "spatial information", "grid score")
ROWS = {  # table row: the stages it scores (the rate maps are made once per shuffle and row)
    "rate maps (peak rate)": ("rate maps",),
    "rate maps + spatial information": ("spatial information",),
    "rate maps + grid score": ("grid score",),
    "information and grid score": ("spatial information", "grid score"),
}
DENSE_ROW = "rate maps (peak rate), dense path"
_COMPILE_EVENTS = (
    "/jax/core/compile/backend_compile_duration",
    "/jax/core/compile/jaxpr_to_mlir_module_duration",
)


class Session(NamedTuple):
    xy: np.ndarray  # (T, 2) metres, NaN in tracking gaps
    durations: np.ndarray  # (T,) seconds
    counts: np.ndarray  # (T, U) float32 spike counts
    kinds: tuple[str, ...]  # (U,) "grid", "place" or "untuned"


def walk(rng: np.random.Generator, n: int, dt: float, speed: float = 0.15) -> np.ndarray:
    """OU speed and turning rate (time constants 0.7 s and 0.3 s), reflected into the 1 x 1 m box; (n, 2) m."""
    a_v, a_w = np.exp(-dt / 0.7), np.exp(-dt / 0.3)
    noise = rng.standard_normal((n, 2))
    v = np.abs(speed + signal.lfilter([speed * np.sqrt(1 - a_v**2)], [1, -a_v], noise[:, 0]))
    theta = np.cumsum(signal.lfilter([2.0 * np.sqrt(1 - a_w**2)], [1, -a_w], noise[:, 1])) * dt
    free = 0.5 + np.cumsum(v[:, None] * dt * np.column_stack([np.cos(theta), np.sin(theta)]), 0)
    folded = np.mod(free, 2.0)
    return np.where(folded <= 1.0, folded, 2.0 - folded)


def _rates(kind: str, rng: np.random.Generator, pos: np.ndarray) -> np.ndarray:
    if kind == "grid":  # three plane waves 60 degrees apart: a triangular lattice of the given spacing
        spacing, angle, phase = rng.uniform(0.3, 0.6), rng.uniform(0, np.pi / 3), rng.uniform(0, 1, 2)
        k = 4 * np.pi / (np.sqrt(3) * spacing)
        dirs = angle + np.pi / 2 + np.arange(3) * np.pi / 3
        g = np.cos(k * ((pos - phase) @ np.stack([np.cos(dirs), np.sin(dirs)]))).sum(1)
        return 10.0 * np.exp(0.8 * (g - 3.0))
    if kind == "place":
        centre, width = rng.uniform(0.1, 0.9, 2), rng.uniform(0.08, 0.15)
        return 10.0 * np.exp(-0.5 * np.sum((pos - centre) ** 2, 1) / width**2) + 0.1
    return np.full(len(pos), 2.0)


def simulate(n_samples: int, n_units: int, *, fps: float = 50.0, seed: int = 0) -> Session:
    """A ``Session`` of ``n_samples`` at ``fps`` with ``n_units`` units (grid, place, untuned in turn)."""
    rng = np.random.default_rng(seed)
    dt = 1.0 / fps
    xy = walk(rng, n_samples, dt)
    pos = xy.copy()  # cells fire through tracking gaps; the gaps only hide the position
    for s in rng.choice(n_samples - 10, size=n_samples // 500, replace=False):
        xy[s : s + 5] = np.nan
    kinds = tuple(("grid", "place", "untuned")[u % 3] for u in range(n_units))
    counts = np.empty((n_samples, n_units), np.float32)
    for u, kind in enumerate(kinds):
        counts[:, u] = rng.poisson(_rates(kind, rng, pos) * dt)
    return Session(xy, np.full(n_samples, dt), counts, kinds)


# ------------------------------------------------------------------------------------------------------ ours


def make_measures(rmf: nt.RateMapFn) -> dict[str, object]:
    """Each stage's map measure, ``(maps, occupancy) -> (U,)`` or a name, from the package's public functions."""
    grid_score = ng.make_grid_score_fn(
        rmf.grid.occupancy.shape,
        bin_size=BIN,
        min_overlap=MIN_OVERLAP,
        central_threshold=CENTRAL_THRESHOLD,
        peak_threshold=PEAK_THRESHOLD,
        peak_neighbourhood=PEAK_NEIGHBOURHOOD,
    )
    return {
        "rate maps": lambda maps, occupancy: jnp.nanmax(
            maps, axis=(1, 2)
        ),  # the peak rate: every map is used
        "spatial information": "bits_per_spike",
        "grid score": grid_score,
    }


def _rate_map_fn(session: Session) -> nt.RateMapFn:
    return nt.make_rate_map_fn(
        session.xy, session.durations, extent=BOX, bin_size=BIN, sigma=SIGMA, min_occupancy=MIN_OCCUPANCY
    )


def make_score_fns(session: Session) -> dict[str, Callable[[jax.Array], jax.Array]]:
    """The dense path: each stage's jittable ``activity (T, U) -> (U,)`` score, for :func:`shuffle_null`."""
    rmf = _rate_map_fn(session)
    return {stage: ns.make_map_score_fn(rmf, m) for stage, m in make_measures(rmf).items()}


def make_sparse_tests(session: Session) -> dict[str, Callable[..., dict[str, ns.ShuffleNull]]]:
    """The sparse path: one :func:`make_map_shuffle_test` per table row (its stages scored from one set of maps)."""
    rmf = _rate_map_fn(session)
    measures = make_measures(rmf)
    return {
        row: ns.make_map_shuffle_test(rmf, {s: measures[s] for s in stages}) for row, stages in ROWS.items()
    }


def _timed(call: Callable[[], object]) -> tuple[object, float, float]:
    """``(call(), wall seconds, compile seconds within it)`` (XLA compile and lowering, as jax.monitoring says)."""
    compiled: list[float] = []

    def listener(event: str, duration: float, **_) -> None:
        if event in _COMPILE_EVENTS:
            compiled.append(duration)

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        t0 = time.perf_counter()
        out = call()
        wall = time.perf_counter() - t0
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)
    return out, wall, sum(compiled)


def run_ours(
    score_fn, counts, durations, *, n_shuffles: int, seed: int = 0
) -> tuple[ns.ShuffleNull, float, float]:
    """One dense :func:`shuffle_null` call: ``(result, wall seconds, compile seconds within it)``."""
    key = jax.random.key(seed)
    return _timed(
        lambda: ns.shuffle_null(
            score_fn, counts, durations, key=key, n_shuffles=n_shuffles, min_shift=MIN_SHIFT
        )
    )


def run_sparse(test, counts, *, n_shuffles: int, seed: int = 0):
    """One sparse test call: ``({stage: ShuffleNull}, wall seconds, compile seconds within it)``."""
    key = jax.random.key(seed)
    return _timed(lambda: test(counts, key=key, n_shuffles=n_shuffles, min_shift=MIN_SHIFT))


# ------------------------------------------------------------------------------------------------ reference


class Reference(NamedTuple):
    """What a lab script computes once per session, in NumPy."""

    bins: np.ndarray  # (T,) flat bin of each sample; ny * nx for samples that do not count
    shape: tuple[int, int]  # (ny, nx)
    occupancy: np.ndarray  # (ny, nx) seconds
    occupancy_smoothed: np.ndarray  # (ny, nx)
    visited: np.ndarray  # (ny, nx) bool
    sigma_bins: float
    dist: np.ndarray  # (h, w) distance of each autocorrelogram bin from its centre, bins
    dx: np.ndarray  # (h, w)
    dy: np.ndarray  # (h, w)
    rotated: np.ndarray  # (5, 2, h, w) (row, column) each rotated bin is read from, for 30 ... 150 degrees


def reference_setup(xy: np.ndarray, durations: np.ndarray) -> Reference:
    nx, ny = round((BOX[1] - BOX[0]) / BIN), round((BOX[3] - BOX[2]) / BIN)
    ok = np.isfinite(xy).all(1) & np.isfinite(durations) & (durations > 0)
    ix = np.clip(np.floor((np.where(ok, xy[:, 0], 0) - BOX[0]) / BIN), 0, nx - 1).astype(int)
    iy = np.clip(np.floor((np.where(ok, xy[:, 1], 0) - BOX[2]) / BIN), 0, ny - 1).astype(int)
    bins = np.where(ok, iy * nx + ix, ny * nx)
    occupancy = np.bincount(bins, weights=np.where(ok, durations, 0.0), minlength=ny * nx + 1)[:-1]
    occupancy = occupancy.reshape(ny, nx)
    sigma_bins = SIGMA / BIN
    occ_s = ndimage.gaussian_filter(occupancy, sigma_bins, mode="constant", truncate=4.0)
    h, w = 2 * ny - 1, 2 * nx - 1
    dy, dx = np.meshgrid(np.arange(h) - (h - 1) / 2, np.arange(w) - (w - 1) / 2, indexing="ij")
    rotated = []
    for angle in np.deg2rad(
        [30.0, 60.0, 90.0, 120.0, 150.0]
    ):  # the rotated image at p is the image at R(-a) p
        c, s = np.cos(angle), np.sin(angle)
        rotated.append([(h - 1) / 2 + (-s * dx + c * dy), (w - 1) / 2 + (c * dx + s * dy)])
    visited = (occupancy >= MIN_OCCUPANCY) & (occupancy > 0)
    return Reference(
        bins, (ny, nx), occupancy, occ_s, visited, sigma_bins, np.hypot(dx, dy), dx, dy, np.array(rotated)
    )


def reference_rate_map(counts: np.ndarray, ref: Reference) -> np.ndarray:
    """One unit's ``(ny, nx)`` map from its ``(T,)`` counts: smooth(N) / smooth(O), NaN where unvisited."""
    ny, nx = ref.shape
    num = np.bincount(ref.bins, weights=counts, minlength=ny * nx + 1)[:-1].reshape(ny, nx)
    num = ndimage.gaussian_filter(num, ref.sigma_bins, mode="constant", truncate=4.0)
    return np.where(ref.visited, num / np.where(ref.visited, ref.occupancy_smoothed, 1.0), np.nan)


def reference_information(rate_map: np.ndarray, occupancy: np.ndarray) -> float:
    """Skaggs bits per spike over the visited bins."""
    ok = np.isfinite(rate_map) & (occupancy > 0)
    p = occupancy[ok] / occupancy[ok].sum()
    lam = rate_map[ok]
    mean = np.sum(p * lam)
    if not mean > 0:
        return np.nan
    ratio = lam / mean
    nz = ratio > 0
    return float(np.sum(p[nz] * ratio[nz] * np.log2(ratio[nz])))


def reference_autocorrelogram(rate_map: np.ndarray) -> np.ndarray:
    """Pearson r over the overlapping visited bins at every lag, from six FFT-convolved sums."""
    visited = np.isfinite(rate_map)
    z = (
        np.where(visited, rate_map - rate_map[visited].mean(), 0.0)
        if visited.any()
        else np.zeros(rate_map.shape)
    )
    scale = np.sqrt(np.sum(z**2) / max(visited.sum(), 1))
    z = z / scale if scale > 0 else z
    mask = visited.astype(float)

    def corr(f, g):  # sum_x f(x + tau) g(x)
        return signal.fftconvolve(f, g[::-1, ::-1])

    n = np.round(corr(mask, mask))
    sum_p, sum_q, sum_pq = corr(mask, z), corr(z, mask), corr(z, z)
    sum_pp, sum_qq = corr(mask, z * z), corr(z * z, mask)
    var = (n * sum_pp - sum_p**2) * (n * sum_qq - sum_q**2)
    ok = (n >= MIN_OVERLAP) & (var > 0) & (scale > 0)
    r = (n * sum_pq - sum_p * sum_q) / np.sqrt(np.where(ok, var, 1.0))
    return np.where(ok, np.clip(r, -1.0, 1.0), np.nan)


def _parabola(left, centre, right):
    curvature = left - 2.0 * centre + right
    if not (np.isfinite(curvature) and curvature < 0):
        return 0.0
    return float(np.clip(0.5 * (left - right) / curvature, -0.5, 0.5))


def reference_grid_score(acorr: np.ndarray, ref: Reference) -> float:
    """Sargolini grid score: the annulus from the central peak to the six nearest peaks (plus the central
    radius), correlated with its rotations by 30 ... 150 degrees."""
    valid = np.isfinite(acorr)
    shell = np.rint(ref.dist).astype(int)
    total = np.bincount(shell[valid], weights=acorr[valid], minlength=shell.max() + 1)
    count = np.bincount(shell[valid], minlength=shell.max() + 1)
    profile = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    below = (profile < CENTRAL_THRESHOLD) & (np.arange(len(profile)) >= 1)
    if not below.any():
        return np.nan
    r_in = np.argmax(below) - 0.5
    filled = np.where(valid, acorr, -np.inf)
    size = 2 * max(1, round(PEAK_NEIGHBOURHOOD / BIN)) + 1
    local = ndimage.maximum_filter(filled, size=size, mode="constant", cval=-np.inf)
    # a peak only where the map's box overlaps itself, shifted by the lag, over 30% or more (as the package)
    ny, nx = ref.shape
    overlap = (1 - np.abs(ref.dx) / nx) * (1 - np.abs(ref.dy) / ny)
    peaks = (filled == local) & valid & (acorr > PEAK_THRESHOLD) & (ref.dist > r_in) & (overlap >= 0.3)
    if peaks.sum() < 6:
        return np.nan
    nearest = np.argsort(np.where(peaks, ref.dist, np.inf).ravel(), kind="stable")[:6]
    padded = np.pad(acorr, 1, constant_values=np.nan)
    radii = []
    for row, col in zip(*np.unravel_index(nearest, acorr.shape), strict=True):
        r, c = row + 1, col + 1
        off_x = _parabola(padded[r, c - 1], padded[r, c], padded[r, c + 1])
        off_y = _parabola(padded[r - 1, c], padded[r, c], padded[r + 1, c])
        radii.append(np.hypot(ref.dx[row, col] + off_x, ref.dy[row, col] + off_y))
    r_out = np.round(max(radii) + r_in)
    ring = (ref.dist > r_in) & (np.ceil(ref.dist) <= r_out)
    a0 = np.where(valid, acorr, 0.0)
    r = []
    for coords in ref.rotated:
        b = ndimage.map_coordinates(a0, coords, order=1, mode="constant", cval=0.0)
        b_ok = (
            ndimage.map_coordinates(valid.astype(float), coords, order=1, mode="constant", cval=0.0)
            > 1 - 1e-9
        )
        ok = ring & valid & b_ok
        x, y = acorr[ok], b[ok]
        r.append(
            np.corrcoef(x, y)[0, 1]
            if ok.sum() >= ng._MIN_RING_BINS and x.std() > 0 and y.std() > 0
            else np.nan
        )
    return float(np.minimum(r[1], r[3]) - np.maximum(np.maximum(r[0], r[2]), r[4]))


def run_reference(counts: np.ndarray, shifts: np.ndarray, ref: Reference):
    """The loop over units and shuffles (shift 0 first, then ``shifts (S, U)``).

    Returns ``(scores, seconds)``: ``scores[stage]`` is ``(U, S + 1)`` (column 0 unshuffled), ``seconds[stage]``
    the time in that stage's own steps (the rate maps' steps are part of the other two stages too)."""
    n_units = counts.shape[1]
    columns = [np.ascontiguousarray(counts[:, u], dtype=float) for u in range(n_units)]
    offsets = np.vstack([np.zeros((1, n_units), int), shifts])
    scores = {stage: np.empty((n_units, len(offsets))) for stage in STAGES}
    seconds = dict.fromkeys(STAGES, 0.0)
    clock = time.perf_counter
    for u in range(n_units):
        for i, shift in enumerate(offsets[:, u]):
            t0 = clock()
            rate_map = reference_rate_map(np.roll(columns[u], shift), ref)
            scores["rate maps"][u, i] = np.nanmax(rate_map)
            t1 = clock()
            scores["spatial information"][u, i] = reference_information(rate_map, ref.occupancy)
            t2 = clock()
            scores["grid score"][u, i] = reference_grid_score(reference_autocorrelogram(rate_map), ref)
            t3 = clock()
            for stage, dt in zip(STAGES, (t1 - t0, t2 - t1, t3 - t2), strict=True):
                seconds[stage] += dt
    return scores, seconds


# ------------------------------------------------------------------------------------------------------ run


def measure_ours(session: Session, units: int, n_shuffles: int, repeats: int):
    """``{row: (median seconds less compile, compile seconds of the first call, {stage: ShuffleNull})}`` on the first
    ``units``: every sparse row, and the dense path (:func:`shuffle_null`) for the rate maps."""
    counts = np.ascontiguousarray(session.counts[:, :units])
    calls = {row: partial(run_sparse, test) for row, test in make_sparse_tests(session).items()}
    dense = make_score_fns(session)["rate maps"]
    calls[DENSE_ROW] = lambda c, n_shuffles: _wrap(
        run_ours(dense, c, session.durations, n_shuffles=n_shuffles)
    )
    out = {}
    for row, call in calls.items():
        runs = [call(counts, n_shuffles=n_shuffles) for _ in range(repeats)]
        ours = statistics.median(wall - compile_s for _, wall, compile_s in runs)
        out[row] = (ours, max(c for *_, c in runs), runs[-1][0])  # compilation: the first call's
        print(f"  ours, {units} units x {n_shuffles} shuffles, {row}: {ours:.3f} s", flush=True)
    return out


def _wrap(run):
    result, wall, compile_s = run
    return {"rate maps": result}, wall, compile_s


def measure_reference(session: Session, units: int, shifts: np.ndarray, repeats: int):
    """``({stage: median seconds of its own steps}, scores)`` of the loop on the first ``units``."""
    ref = reference_setup(session.xy, session.durations)
    runs = [run_reference(session.counts[:, :units], shifts, ref) for _ in range(repeats)]
    seconds = {stage: statistics.median(r[1][stage] for r in runs) for stage in STAGES}
    print(f"  reference, {units} units x {len(shifts)} shuffles: {sum(seconds.values()):.3f} s", flush=True)
    return seconds, runs[-1][0]


def _table(sub, ref_s, full, items_sub: int, items_full: int, args) -> None:
    """Rows: each stage as a full shuffle test (rate maps included), both scores together, the dense path."""
    maps = ref_s["rate maps"]
    ref_rows = {row: maps + sum(ref_s[s] for s in stages if s != "rate maps") for row, stages in ROWS.items()}
    ref_rows[DENSE_ROW] = maps
    head = (
        f"| stage | ours {args.ref_units}x{args.ref_shuffles} (s) | reference (s) | ratio | ours {args.units}x"
        f"{args.shuffles} (s) | compile, first call (s) | reference (s, est.) | ratio |"
    )
    print("\n" + head + "\n|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in ref_rows.items():
        o_sub, (o_full, comp, _) = sub[name][0], full[name]
        r_full = r / items_sub * items_full
        print(
            f"| {name} | {o_sub:.3f} | {r:.3f} | {r / o_sub:.1f}x | {o_full:.2f} | {comp:.1f} | "
            f"{r_full:,.1f} ({1e3 * r / items_sub:.2f} ms x {items_full:,}) | {r_full / o_full:.1f}x |"
        )
    both, comp = full["information and grid score"][:2]
    print(
        f"\nours, absolute, both scores with {args.shuffles} shuffles for {args.units} units over {args.hours:g} h: "
        f"{both + comp:.1f} s with compilation ({1e6 * both / items_full:.0f} us per unit-shuffle after it)"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--units", type=int, default=512)
    parser.add_argument("--hours", type=float, default=1.0)
    parser.add_argument("--fps", type=float, default=50.0)
    parser.add_argument("--shuffles", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per row; the median is shown")
    parser.add_argument("--ref-units", type=int, default=16, help="units the reference loop runs on")
    parser.add_argument("--ref-shuffles", type=int, default=5, help="shuffles the reference loop runs")
    parser.add_argument("--quick", action="store_true", help="16 units, 0.25 h, 10 shuffles, 1 repeat")
    args = parser.parse_args(argv)
    if args.quick:
        args.units, args.hours, args.shuffles, args.repeats, args.ref_units = 16, 0.25, 10, 1, 4
    args.ref_units = min(args.ref_units, args.units)
    n = round(args.hours * 3600 * args.fps)
    print(
        f"JAX {jax.__version__} on {jax.devices()[0].platform.upper()}; {args.units} units, {n:,} samples "
        f"({args.hours:g} h at {args.fps:g} Hz), 1 x 1 m box at {100 * BIN:g} cm bins, observed + "
        f"{args.shuffles} shuffles; median of {args.repeats}",
        flush=True,
    )
    session = simulate(n, args.units, fps=args.fps)
    sub = measure_ours(session, args.ref_units, args.ref_shuffles, args.repeats)
    shifts = sub[DENSE_ROW][2]["rate maps"].shifts
    ref_s, ref_scores = measure_reference(session, args.ref_units, shifts, args.repeats)
    for row, (
        *_,
        nulls,
    ) in sub.items():  # the same shuffles on both sides: the same numbers, or the comparison is void
        for stage, null in nulls.items():
            np.testing.assert_array_equal(null.shifts, shifts)
            diff = np.abs(np.column_stack([null.observed, null.null]) - ref_scores[stage])
            print(
                f"  ours vs reference, {row}, {stage}: largest difference {np.nanmax(diff):.2g}", flush=True
            )
    full = measure_ours(session, args.units, args.shuffles, args.repeats)
    items_sub, items_full = args.ref_units * (args.ref_shuffles + 1), args.units * (args.shuffles + 1)
    _table(sub, ref_s, full, items_sub, items_full, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
