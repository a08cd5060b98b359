"""Fixtures for the data-layer tests (the file writers are in ``data_files.py``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from data_files import (
    FPS,
    INDIVIDUALS,
    KEYPOINTS,
    LOAD_OPTIONS,
    N_FRAMES,
    SampleFile,
    metre_track,
    movement_poses,
    pose_arrays,
    write_csv,
    write_idtracker,
    write_nwb_pose,
    write_nwb_position,
    write_slp,
)

ROOT_CONFTEST = Path(__file__).resolve().parents[2] / "conftest.py"


@pytest.fixture(scope="session")
def shared_file(pytestconfig):
    """``tests/conftest.py::shared_file`` (the root conftest, found among pytest's loaded plugins: several
    folders have a ``conftest.py``, so ``import conftest`` would be ambiguous)."""
    for plugin in pytestconfig.pluginmanager.get_plugins():
        if Path(getattr(plugin, "__file__", "") or "/").resolve() == ROOT_CONFTEST:
            return plugin.shared_file
    raise AssertionError(f"{ROOT_CONFTEST} is not loaded")


@pytest.fixture(scope="session")
def sample_files(tmp_path_factory) -> dict[str, SampleFile]:
    """One small file per supported format (``parquet`` only where pandas can write it)."""
    from movement.io import save_poses

    import neuroethology.data as nd

    root = tmp_path_factory.mktemp("formats")
    pos, conf = pose_arrays()
    frames_t = np.arange(N_FRAMES) / FPS
    files: dict[str, SampleFile] = {}

    def add(
        name: str,
        filename: str,
        position: np.ndarray,
        time: np.ndarray,
        binary: bool = True,
        confidence: np.ndarray | None = None,
    ) -> Path:
        path = root / filename
        files[name] = SampleFile(path, LOAD_OPTIONS[name], position, time, binary, confidence)
        return path

    write_slp(add("sleap", "tracks.slp", pos, frames_t), pos, conf)
    save_poses.to_sleap_analysis_file(
        movement_poses(pos, conf, "SLEAP"),
        add("sleap-analysis", "tracks.analysis.h5", pos, frames_t, confidence=conf),
    )
    mds = movement_poses(pos, conf, "DeepLabCut")
    save_poses.to_dlc_file(
        mds, add("deeplabcut-h5", "video_dlc.h5", pos, frames_t, confidence=conf), split_individuals=False
    )
    save_poses.to_dlc_file(
        mds,
        add("deeplabcut-csv", "video_dlc.csv", pos, frames_t, binary=False, confidence=conf),
        split_individuals=False,
    )
    write_idtracker(
        add("idtracker", "trajectories.h5", pos[:, :, :1], frames_t, confidence=conf[:, :1]),
        pos[:, :, :1],
        conf[:, :1],
    )
    write_nwb_pose(add("nwb-pose", "pose.nwb", pos[..., :1], frames_t, confidence=conf[..., :1]), pos, conf)
    t, xy = metre_track()
    write_nwb_position(add("nwb-position", "position.nwb", xy[:, :, None, None], t), t, xy)
    np.savez(add("npz", "rat.npz", xy[:, :, None, None], t), t=t, pos=xy)
    pos_m = pos * 1e-3
    write_csv(
        add("csv", "tracks.csv", pos_m, frames_t + 1.0, binary=False, confidence=conf),
        pos_m,
        conf,
        frames_t + 1.0,
    )
    rec = nd.from_arrays(
        pos_m,
        fps=FPS,
        confidence=conf,
        individual_names=INDIVIDUALS,
        keypoint_names=KEYPOINTS,
        arena={"shape": "circle", "radius": 0.3},
        variables={"heading": (("time", "individual"), np.linspace(0, 1, N_FRAMES * 2).reshape(N_FRAMES, 2))},
        attrs={"notes": {"trial": 3, "tags": ["a", "b"]}, "flag": True},
    )
    nd.save(rec, add("netcdf", "rec.nc", pos_m, frames_t, confidence=conf))
    nd.to_nwb(rec, add("nwb-own", "rec.nwb", pos_m, frames_t, confidence=conf))
    return files
