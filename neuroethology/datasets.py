"""Bundled recordings.

:func:`sargolini` is the rat trajectory of Sargolini et al. 2006 (a 1 x 1 m box) and :func:`tanni` that of
Tanni et al. 2022 (a 3.5 x 2.5 m box), both as they ship with ``ratinabox``; neither needs a download.
"""

from __future__ import annotations

from pathlib import Path

import xarray as xr

__all__ = [
    "SARGOLINI_CITATION",
    "SARGOLINI_MOTION",
    "TANNI_CITATION",
    "sargolini",
    "sargolini_path",
    "tanni",
]

SARGOLINI_CITATION = (
    "Sargolini F., Fyhn M., Hafting T., McNaughton B.L., Witter M.P., Moser M.-B., Moser E.I. (2006) "
    "Conjunctive representation of position, direction, and velocity in entorhinal cortex. "
    "Science 312:758-762, doi:10.1126/science.1125572. "
    "Trajectory as distributed with RatInABox: George T.M., Rastogi M., de Cothi W., Clopath C., "
    "Stachenfeld K., Barry C. (2024) RatInABox, a toolkit for modelling locomotion and neuronal "
    "activity in continuous environments. eLife 13:e85274, doi:10.7554/eLife.85274."
)

#: The Sargolini et al. 2006 recording box: 1 x 1 m.
SARGOLINI_ARENA = {"shape": "box", "width": 1.0, "height": 1.0}
#: Its tracking rate, Hz (Sargolini et al. 2006: positions sampled at 50 Hz).
SARGOLINI_FPS = 50.0
#: Default longest gap filled by interpolation, s: 5 missing frames at 50 Hz. Of the 60 gaps in the
#: file's time stamps (183 missing frames), 54 last 0.1 s or less (127 frames, filled); the 6 longer
#: ones (0.12 - 0.34 s, 56 frames) split the track into 7 segments.
SARGOLINI_MAX_GAP = 0.1
#: RatInABox's random-motion parameters fitted to this rat by maximum likelihood (``neuroethology fit``'s baseline
#: on the demo's first 480 s, rounded; fast, strongly coupled turning noise, about 8% of the steps slower than
#: ``FitConfig.min_speed``): ``RandomMotionParams(**SARGOLINI_MOTION)`` simulates a rat-like animal.
SARGOLINI_MOTION: dict[str, float] = {
    "speed_mean": 0.105,
    "speed_coherence_time": 0.41,
    "rotational_velocity_std": 8.1,
    "rotational_velocity_coherence_time": 0.043,
    "thigmotaxis": 0.33,
    "wall_repel_distance": 0.072,
    "wall_repel_strength": 0.93,
}


def sargolini_path() -> Path:
    """Path of ``ratinabox/data/sargolini.npz`` (arrays ``t`` in s and ``pos`` in m)."""
    return _ratinabox_data("sargolini.npz")


def _ratinabox_data(name: str) -> Path:
    import ratinabox

    path = Path(ratinabox.__file__).parent / "data" / name
    if not path.exists():
        raise FileNotFoundError(f"the installed ratinabox does not ship {path}")
    return path


def _ratinabox_rat(
    path: Path,
    *,
    fps: float,
    arena: dict,
    max_gap: float,
    dt: float | None,
    citation: str,
    description: str,
) -> xr.Dataset:
    """One rat's ``t``/``pos`` file as RatInABox ships it, loaded as a Recording (individual ``"rat"``) on its
    frame grid at ``fps`` in ``arena``, with its citation."""
    from .data.formats import read_npz
    from .data.pipeline import LoadOptions, process

    raw = read_npz(path, None)
    raw.individual_names = ["rat"]
    raw.source_software = "ratinabox"
    rec = process(raw, str(path), LoadOptions(fps=fps, max_gap=max_gap, dt=dt, arena=arena))
    rec.attrs.update(citation=citation, species="Rattus norvegicus", description=description)
    return rec


def sargolini(*, max_gap: float = SARGOLINI_MAX_GAP, dt: float | None = None) -> xr.Dataset:
    """The rat of Sargolini et al. 2006 exploring a 1 x 1 m box for ~600 s, tracked at 50 Hz.

    The file's time stamps (0.10 - 599.74 s, 29,800 samples) skip 183 frames in 60 places. They are put
    on the complete 50 Hz grid (29,983 samples; the missing frames become untracked samples); gaps of up
    to ``max_gap`` seconds are filled by linear interpolation and the longer ones split the track into
    segments (``segment`` variable; 7 segments with the default ``max_gap`` of 0.1 s). Everything done is
    recorded in ``attrs["processing"]``.

    Args:
        max_gap: longest gap to fill, seconds (0 fills nothing: every gap splits the track).
        dt: resample to this step, seconds (e.g. an environment's ``dt``), within segments only.

    Returns:
        A Recording with one individual ``"rat"``, keypoint ``"centroid"``, a ``1 x 1 m`` box arena and a
        ``citation`` attribute.
    """
    return _ratinabox_rat(
        sargolini_path(),
        fps=SARGOLINI_FPS,
        arena=SARGOLINI_ARENA,
        max_gap=max_gap,
        dt=dt,
        citation=SARGOLINI_CITATION,
        description="Rat foraging for scattered food in a 1 x 1 m box (Sargolini et al. 2006)",
    )


TANNI_CITATION = (
    "Tanni S., de Cothi W., Barry C. (2022) State transitions in the statistically stable place cell "
    "population correspond to rate of perceptual change. Current Biology 32:3505-3514, "
    "doi:10.1016/j.cub.2022.06.046. Trajectory as distributed with RatInABox (ratinabox/data/tanni.npz)."
)
#: The Tanni et al. 2022 recording box: 3.5 x 2.5 m (RatInABox's data README).
TANNI_ARENA = {"shape": "box", "width": 3.5, "height": 2.5}
#: Its tracking rate, Hz: the file's time stamps are 1/30 s apart.
TANNI_FPS = 30.0


def tanni(*, max_gap: float = 0.1, dt: float | None = None) -> xr.Dataset:
    """The rat of Tanni et al. 2022 exploring a 3.5 x 2.5 m box for ~7,300 s (two hours), tracked at 30 Hz.

    The file's time stamps (219,670 samples) are 1/30 s apart but for one gap of 0.63 s, which splits the
    track into two segments with the default ``max_gap``. A few positions lie up to 4 cm outside the box
    (tracking of the head beyond the wall's inner face); they are kept as recorded.

    Args:
        max_gap: longest gap to fill by linear interpolation, seconds.
        dt: resample to this step, seconds, within segments only.

    Returns:
        A Recording with one individual ``"rat"``, keypoint ``"centroid"``, a ``3.5 x 2.5 m`` box arena and
        a ``citation`` attribute.
    """
    return _ratinabox_rat(
        _ratinabox_data("tanni.npz"),
        fps=TANNI_FPS,
        arena=TANNI_ARENA,
        max_gap=max_gap,
        dt=dt,
        citation=TANNI_CITATION,
        description="Rat exploring a 3.5 x 2.5 m box (Tanni et al. 2022)",
    )
