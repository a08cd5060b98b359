"""Fixtures for the analysis tests: Recordings built exactly as DATAMODEL.md (neuroethology.data) describes.

``make_recording`` is a local stand-in with the signature of ``neuroethology.data.from_arrays``, written
while the data layer is being built in parallel; it builds the same Dataset (singular dims, attrs fps,
source_software, source_file, arena_*, processing) without the loaders' validation.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr


def build_recording(
    position,
    *,
    time=None,
    fps=None,
    confidence=None,
    individual_names=None,
    keypoint_names=None,
    arena=None,
    source_software="neuroethology",
    source_file="",
    variables=None,
    attrs=None,
) -> xr.Dataset:
    pos = np.asarray(position, dtype=float)
    if pos.ndim == 2:
        pos = pos[:, :, None, None]
    assert pos.ndim == 4 and pos.shape[1] == 2, pos.shape
    n, _, n_kp, n_ind = pos.shape
    assert (time is None) != (fps is None), "give time or fps"
    if time is None:
        time = np.arange(n) / float(fps)
    time = np.asarray(time, float)
    if fps is None:
        fps = float(1.0 / np.median(np.diff(time))) if n > 1 else 1.0
    if confidence is None:
        conf = np.full((n, n_kp, n_ind), np.nan)
    else:
        conf = np.asarray(confidence, float)
        if conf.ndim == 1:
            conf = conf[:, None, None]
    individuals = (
        list(individual_names) if individual_names is not None else [f"id_{i}" for i in range(n_ind)]
    )
    keypoints = (
        list(keypoint_names)
        if keypoint_names is not None
        else (["centroid"] if n_kp == 1 else [f"kp{k}" for k in range(n_kp)])
    )
    ds = xr.Dataset(
        {
            "position": (("time", "space", "keypoint", "individual"), pos),
            "confidence": (("time", "keypoint", "individual"), conf),
        },
        coords={"time": time, "space": ["x", "y"], "keypoint": keypoints, "individual": individuals},
        attrs={
            "ds_type": "poses",
            "fps": float(fps),
            "source_software": source_software,
            "source_file": source_file,
            "arena_shape": "unknown",
            "processing": json.dumps([]),
        },
    )
    if arena is not None:
        ds.attrs["arena_shape"] = arena["shape"]
        if arena["shape"] == "box":
            ds.attrs["arena_width"] = float(arena["width"])
            ds.attrs["arena_height"] = float(arena["height"])
        else:
            ds.attrs["arena_radius"] = float(arena["radius"])
    for name, (dims, values) in (variables or {}).items():
        ds[name] = (dims, np.asarray(values))
    ds.attrs.update(attrs or {})
    return ds


@pytest.fixture
def make_recording():
    """Factory: ``make_recording(position, fps=50.0, arena=..., variables=..., attrs=...)``."""
    return build_recording


def ou_track(rng, n, *, dt=0.02, tau_v=0.7, sigma_v=0.1, tau_w=0.3, sigma_w=2.0, start=(0.5, 0.5)):
    """A free (unbounded) 2-D walk with Ornstein-Uhlenbeck forward speed and turning rate (RatInABox-like
    motion); returns ``(n, 2)`` positions in metres."""
    v = np.empty(n)
    w = np.empty(n)
    v[0], w[0] = sigma_v, 0.0
    a_v, a_w = np.exp(-dt / tau_v), np.exp(-dt / tau_w)
    noise = rng.standard_normal((n, 2))
    for i in range(1, n):
        v[i] = sigma_v + a_v * (v[i - 1] - sigma_v) + sigma_v * np.sqrt(1 - a_v**2) * noise[i, 0]
        w[i] = a_w * w[i - 1] + sigma_w * np.sqrt(1 - a_w**2) * noise[i, 1]
    heading = np.cumsum(w) * dt
    speed = np.abs(v)
    step = np.column_stack([np.cos(heading), np.sin(heading)]) * (speed * dt)[:, None]
    return np.asarray(start) + np.cumsum(step, axis=0)


def unit_square_path(samples_per_side, *, closed=False):
    """The unit square walked anticlockwise from the origin, ``samples_per_side`` samples per side, the
    origin repeated at the end when ``closed``; ``(n, 2)`` positions in metres."""
    side = np.linspace(0, 1, samples_per_side + 1)[:-1]
    sides = [
        np.column_stack([side, 0 * side]),
        np.column_stack([1 + 0 * side, side]),
        np.column_stack([1 - side, 1 + 0 * side]),
        np.column_stack([0 * side, 1 - side]),
    ]
    return np.vstack([*sides, [[0.0, 0.0]]] if closed else sides)
