"""Small files of every supported format, written from known arrays by the writers of the field's own
libraries (sleap-io, movement, pynwb, h5py), so that each loader is checked against the values that went in.
(A plain module, importable from the tests as ``data_files``; the fixtures are in this folder's conftest.)"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

FPS = 25.0  # Hz, frame rate of the generated pose files
N_FRAMES = 30
KEYPOINTS = ("snout", "centre", "tail")
INDIVIDUALS = ("alice", "bob")
#: Options that make every generated file load (frame rate and pixel handling for the pose formats).
LOAD_OPTIONS: dict[str, dict[str, Any]] = {
    "sleap": {"fps": FPS, "units": "pixels"},
    "sleap-analysis": {"fps": FPS, "units": "pixels"},
    "deeplabcut-h5": {"fps": FPS, "units": "pixels"},
    "deeplabcut-csv": {"fps": FPS, "units": "pixels"},
    "idtracker": {"units": "pixels"},
    "nwb-pose": {"units": "pixels"},
    "nwb-position": {},
    "nwb-own": {},
    "npz": {},
    "csv": {},
    "netcdf": {},
}


# ------------------------------------------------------------------------------------------ known tracks


def pose_arrays(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Pixel positions ``(time, 2, keypoint, individual)`` on a quarter-pixel grid (exact in float32) with a
    few untracked points, and confidences in [0, 1] (exact in float32; NaN where untracked)."""
    rng = np.random.default_rng(seed)
    n_kp, n_ind = len(KEYPOINTS), len(INDIVIDUALS)
    start = rng.uniform(100, 400, size=(1, 2, n_kp, n_ind))
    steps = rng.normal(0, 3, size=(N_FRAMES, 2, n_kp, n_ind))
    pos = np.round((start + np.cumsum(steps, axis=0)) * 4) / 4
    conf = np.round(rng.uniform(0.5, 1.0, size=(N_FRAMES, n_kp, n_ind)) * 256) / 256
    missing = np.zeros((N_FRAMES, n_kp, n_ind), dtype=bool)
    missing[[3, 4, 10], 0, 0] = True
    missing[7, 2, 1] = True
    pos[np.broadcast_to(missing[:, None], pos.shape)] = np.nan
    conf[missing] = np.nan
    return pos, conf


def movement_poses(pos: np.ndarray, conf: np.ndarray, software: str):
    """A movement 0.15 poses dataset (time in frames, plural dims) of the given arrays."""
    from movement.io import load_poses

    return load_poses.from_numpy(
        position_array=pos.astype(np.float32),
        confidence_array=conf.astype(np.float32),
        individual_names=list(INDIVIDUALS[: pos.shape[3]]),
        keypoint_names=list(KEYPOINTS),
        fps=None,
        source_software=software,
    )


# ----------------------------------------------------------------------------------------------- writers


def write_slp(path: Path, pos: np.ndarray, conf: np.ndarray) -> None:
    import sleap_io as sio

    skeleton = sio.Skeleton(list(KEYPOINTS))  # sleap-io turns the list items into Node objects in place
    video = sio.Video(filename="video.mp4", open_backend=False)
    tracks = [sio.Track(name) for name in INDIVIDUALS]
    frames = []
    for f in range(pos.shape[0]):
        instances = [
            sio.PredictedInstance.from_numpy(
                pos[f, :, :, i].T,
                skeleton=skeleton,
                point_scores=np.nan_to_num(conf[f, :, i]),
                score=1.0,
                track=track,
            )
            for i, track in enumerate(tracks)
        ]
        frames.append(sio.LabeledFrame(video=video, frame_idx=f, instances=instances))
    sio.save_slp(
        sio.Labels(labeled_frames=frames, videos=[video], skeletons=[skeleton], tracks=tracks), str(path)
    )


def write_idtracker(path: Path, pos: np.ndarray, conf: np.ndarray, fps: float = FPS) -> None:
    """idtracker.ai 6 layout: trajectories (frames, individuals, 2) and
    id_probabilities (frames, individuals, 1)."""
    with h5py.File(path, "w") as f:
        f["trajectories"] = np.transpose(pos[:, :, 0, :], (0, 2, 1))
        f["id_probabilities"] = conf[:, 0, :, None]
        f.attrs["frames_per_second"] = np.int64(fps) if float(fps).is_integer() else fps
        f.attrs["body_length"] = 57.7
        f.attrs["identities_labels"] = np.array([s.encode() for s in INDIVIDUALS], dtype=object)
        f.attrs["version"] = "6.0.0a0"


def write_nwb_pose(path: Path, pos: np.ndarray, conf: np.ndarray) -> None:
    """ndx-pose PoseEstimation for one individual, written by movement's NWB exporter."""
    import pynwb
    from movement.io import save_poses

    ds = movement_poses(pos[..., :1], conf[..., :1], "DeepLabCut")
    ds = ds.assign_coords(time=np.arange(pos.shape[0]) / FPS).assign_attrs(fps=FPS, time_unit="seconds")
    nwbfile = save_poses.to_nwb_file(ds)
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwbfile)


def write_nwb_position(
    path: Path, t: np.ndarray, xy_m: np.ndarray, unit: str = "meters", conversion: float = 1.0
) -> None:
    """A lab-style NWB file: one SpatialSeries (time, 2) in a Position container of module 'behavior'."""
    from datetime import UTC, datetime

    import pynwb
    from pynwb.behavior import Position, SpatialSeries
    from pynwb.file import Subject

    nwbfile = pynwb.NWBFile(
        session_description="open field",
        identifier="session-1",
        session_start_time=datetime(2020, 1, 1, tzinfo=UTC),
        subject=Subject(subject_id="rat7", species="Rattus norvegicus"),
    )
    module = nwbfile.create_processing_module("behavior", "position")
    position = Position(name="Position")
    position.add_spatial_series(
        SpatialSeries(
            name="led",
            data=xy_m / conversion,
            timestamps=t,
            reference_frame="corner",
            unit=unit,
            conversion=conversion,
        )
    )
    module.add(position)
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwbfile)


def metre_track(seed: int = 1, n: int = 50, fps: float = 50.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = 0.5 + np.arange(n) / fps
    xy = np.clip(0.5 + np.cumsum(rng.normal(0, 0.01, size=(n, 2)), axis=0), 0.01, 0.99)
    return t, xy


def write_csv(path: Path, pos_m: np.ndarray, conf: np.ndarray, t: np.ndarray) -> None:
    lines = ["time,individual,keypoint,x,y,confidence"]
    for f in range(pos_m.shape[0]):
        for i, ind in enumerate(INDIVIDUALS):
            for k, kp in enumerate(KEYPOINTS):
                x, y = pos_m[f, :, k, i]
                c = conf[f, k, i]
                cell = lambda v: "" if np.isnan(v) else repr(float(v))  # noqa: E731
                lines.append(f"{cell(t[f])},{ind},{kp},{cell(x)},{cell(y)},{cell(c)}")
    path.write_text("\n".join(lines) + "\n")


@dataclass(frozen=True)
class SampleFile:
    """A generated file, the options that load it, and what it must load as."""

    path: Path
    options: dict[str, Any]
    position: np.ndarray  # (time, 2, keypoint, individual), in the loaded units
    time: np.ndarray  # s
    binary: bool
    confidence: np.ndarray | None = None  # (time, keypoint, individual) where the format stores scores
