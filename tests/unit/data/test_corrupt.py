"""Bad files of every format give one ValueError naming the file, never another exception.

Property tests (hypothesis) truncate the generated files at random offsets, flip random bytes, and write
malformed tables and arrays with random combinations of problems; each problem must appear in the one
message. Examples are few and files small to keep this fast.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import h5py
import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import neuroethology.data as nd

FAST = settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
_counter = itertools.count()


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("corrupt")


def fresh(scratch: Path, like: Path) -> Path:
    """A new file name in ``scratch`` with the same name and extension as ``like``."""
    folder = scratch / f"case{next(_counter)}"
    folder.mkdir()
    return folder / like.name


def load_outcome(path: Path, options: dict) -> xr.Dataset | None:
    """Load ``path``: a valid Recording, or ``None`` after the one ValueError that names the file."""
    try:
        rec = nd.load(path, **options)
    except ValueError as err:
        assert str(path) in str(err), str(err)
        assert "Traceback" not in str(err)
        return None
    nd.validate(rec)
    return rec


BINARY = [
    "sleap", "sleap-analysis", "deeplabcut-h5", "idtracker", "nwb-pose", "nwb-position", "nwb-own", "npz",
    "netcdf",
]  # fmt: skip
TEXT = ["deeplabcut-csv", "csv"]


@pytest.mark.parametrize("name", BINARY)
@FAST
@given(fraction=st.floats(0.0, 1.0, exclude_max=True))
def test_truncated_binary_files_raise_one_value_error(sample_files, scratch, name, fraction):
    sample = sample_files[name]
    data = sample.path.read_bytes()
    path = fresh(scratch, sample.path)
    path.write_bytes(data[: int(fraction * len(data))])
    with pytest.raises(ValueError) as info:
        nd.load(path, **sample.options)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("name", TEXT)
@FAST
@given(fraction=st.floats(0.0, 1.0, exclude_max=True))
def test_truncated_text_files_load_the_rows_left_or_raise_one_value_error(
    sample_files, scratch, name, fraction
):
    sample = sample_files[name]
    data = sample.path.read_bytes()
    path = fresh(scratch, sample.path)
    path.write_bytes(data[: int(fraction * len(data))])
    rec = load_outcome(path, sample.options)
    if rec is not None:  # cut at a row boundary: the rows before it, unchanged
        n = rec.sizes["time"]
        assert n <= sample.position.shape[0]
        np.testing.assert_allclose(rec["position"].values[: n - 1], sample.position[: n - 1], atol=1e-12)


@pytest.mark.parametrize("name", BINARY + TEXT)
@FAST
@given(
    flips=st.lists(
        st.tuples(st.floats(0.0, 1.0, exclude_max=True), st.integers(1, 255)), min_size=1, max_size=6
    )
)
def test_flipped_bytes_give_a_recording_or_one_value_error(sample_files, scratch, name, flips):
    sample = sample_files[name]
    data = bytearray(sample.path.read_bytes())
    for where, mask in flips:
        data[int(where * len(data))] ^= mask
    path = fresh(scratch, sample.path)
    path.write_bytes(bytes(data))
    load_outcome(path, sample.options)


# ------------------------------------------------------------------------------------------- malformed CSV

CSV_PROBLEMS = {
    "short_row": "malformed rows",
    "text_in_x": "non-numeric values",
    "decreasing_time": "not monotonic",
    "duplicate_time": "duplicated times",
    "empty_time": "empty values",
    "untracked_individual": "never tracked",
}


def write_table(path: Path, problems: set[str], n: int) -> None:
    rows = []
    for i in range(n):
        for who in ("a", "b"):
            x, y = (
                (f"{0.1 + 0.01 * i:.3f}", "0.5")
                if who == "a" or "untracked_individual" not in problems
                else ("", "")
            )
            rows.append([f"{i * 0.1:.1f}", who, x, y])
    if "text_in_x" in problems:
        rows[2][2] = "twelve"
    if "decreasing_time" in problems:
        rows[6][0], rows[8][0] = rows[8][0], rows[6][0]
    if "duplicate_time" in problems:
        rows[10][0] = rows[12][0]
    if "empty_time" in problems:
        rows[14][0] = ""
    lines = ["time,individual,x,y"] + [",".join(r) for r in rows]
    if "short_row" in problems:
        lines[5] = ",".join(rows[3][:2])
    path.write_text("\n".join(lines) + "\n")


@FAST
@given(problems=st.sets(st.sampled_from(sorted(CSV_PROBLEMS)), min_size=1), n=st.integers(10, 30))
def test_malformed_tables_report_every_problem_at_once(scratch, problems, n):
    path = fresh(scratch, Path("table.csv"))
    write_table(path, problems, n)
    with pytest.raises(ValueError) as info:
        nd.load(path)
    message = str(info.value)
    assert str(path) in message
    # reading stops at problems of the columns' content before checking the time order of the groups
    content = {"short_row", "text_in_x", "empty_time"}
    expected = problems & content if problems & content else problems
    for problem in expected:
        assert CSV_PROBLEMS[problem] in message, (problem, message)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (
            "time,individual,px,py",
            ["missing column 'x'", "missing column 'y'", "['time', 'individual', 'px', 'py']"],
        ),
        ("when,x,y", ["no time axis", "['when', 'x', 'y']"]),
    ],
)
def test_tables_with_wrong_columns_name_the_columns_found(tmp_path, header, expected):
    path = tmp_path / "t.csv"
    path.write_text(
        header + "\n" + "\n".join(",".join(["1"] * len(header.split(","))) for _ in range(3)) + "\n"
    )
    with pytest.raises(ValueError) as info:
        nd.load(path)
    for part in expected:
        assert part in str(info.value)


def test_header_only_table(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("time,x,y\n")
    with pytest.raises(ValueError, match="no rows"):
        nd.load(path)


# ------------------------------------------------------------------------------------------- malformed npz


@FAST
@given(
    problems=st.sets(st.sampled_from(["decreasing", "duplicate", "all_nan", "inf"]), min_size=1),
    n=st.integers(5, 40),
)
def test_malformed_npz_reports_every_problem_at_once(scratch, problems, n):
    t = np.arange(n) / 50.0
    pos = np.full((n, 2), 0.5)
    if "decreasing" in problems:
        t[[1, 3]] = t[[3, 1]]
    if "duplicate" in problems:
        t[-1] = t[-2]
    if "all_nan" in problems:
        pos[:] = np.nan
    if "inf" in problems and "all_nan" not in problems:
        pos[2, 0] = np.inf
    path = fresh(scratch, Path("rat.npz"))
    np.savez(path, t=t, pos=pos)
    with pytest.raises(ValueError) as info:
        nd.load(path)
    message = str(info.value)
    assert str(path) in message
    words = {
        "decreasing": "not monotonic",
        "duplicate": "duplicated",
        "all_nan": "never tracked",
        "inf": "infinite",
    }
    for problem in problems - ({"inf"} if "all_nan" in problems else set()):
        assert words[problem] in message, (problem, message)


@pytest.mark.parametrize(
    ("arrays", "expected"),
    [
        ({"time": np.arange(3.0), "xy": np.zeros((3, 2))}, ["expected an array 'pos'", "['time', 'xy']"]),
        ({"t": np.arange(3.0)}, ["no positions"]),
        ({"t": np.arange(3.0), "pos": np.zeros((3, 3))}, ["must have shape (time, 2)"]),
        ({"t": np.arange(4.0), "pos": np.zeros((3, 2))}, ["'t' must have shape (3,)"]),
        ({"t": np.array(["a", "b"]), "pos": np.zeros((2, 2))}, ["must be numeric"]),
    ],
)
def test_npz_with_wrong_arrays(tmp_path, arrays, expected):
    path = tmp_path / "x.npz"
    np.savez(path, **arrays)
    with pytest.raises(ValueError) as info:
        nd.load(path)
    for part in expected:
        assert part in str(info.value), str(info.value)


# ------------------------------------------------------------------------------------ malformed HDF5 layouts


def test_hdf5_of_unknown_layout_lists_its_keys(tmp_path):
    path = tmp_path / "mystery.h5"
    with h5py.File(path, "w") as f:
        f["positions"] = np.zeros((3, 2))
    with pytest.raises(ValueError) as info:
        nd.load(path)
    assert "unknown layout" in str(info.value) and "['positions']" in str(info.value)


def test_idtracker_with_wrong_shape_and_nan_only_identity(tmp_path):
    path = tmp_path / "trajectories.h5"
    with h5py.File(path, "w") as f:
        f["trajectories"] = np.zeros((5, 3))
        f.attrs["frames_per_second"] = 30
    with pytest.raises(ValueError, match=r"\(frames, individuals, 2\), got \(5, 3\)"):
        nd.load(path, units="pixels")
    traj = np.zeros((5, 2, 2))
    traj[:, 1] = np.nan
    with h5py.File(path, "w") as f:
        f["trajectories"] = traj
    with pytest.raises(ValueError) as info:
        nd.load(path, units="pixels")
    assert "individual '2' is never tracked" in str(info.value) and "no frame rate" in str(info.value)


def test_sleap_analysis_missing_datasets(tmp_path):
    path = tmp_path / "x.analysis.h5"
    with h5py.File(path, "w") as f:
        f["tracks"] = np.zeros((1, 2, 3, 5))
        f["node_names"] = np.array([b"a", b"b", b"c"])
    with pytest.raises(ValueError) as info:
        nd.load(path, fps=10, units="pixels")
    assert str(path) in str(info.value) and "SLEAP analysis" in str(info.value)


# ------------------------------------------------------------------------------------------------ any file


@FAST
@given(
    blob=st.binary(min_size=1, max_size=300),
    suffix=st.sampled_from([".h5", ".slp", ".nc", ".npz", ".csv", ".nwb", ".parquet", ".bin", ""]),
)
def test_random_bytes_under_any_extension(scratch, blob, suffix):
    path = fresh(scratch, Path("file" + suffix))
    path.write_bytes(blob)
    load_outcome(path, {})


def test_empty_file_missing_file_and_directory(tmp_path):
    empty = tmp_path / "empty.slp"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="empty"):
        nd.load(empty)
    with pytest.raises(FileNotFoundError):
        nd.load(tmp_path / "absent.slp")
    with pytest.raises(ValueError, match="directory"):
        nd.load(tmp_path)


def test_netcdf_that_is_not_a_recording(tmp_path):
    path = tmp_path / "other.nc"
    xr.Dataset({"temperature": ("x", np.arange(3.0))}).to_netcdf(path)
    with pytest.raises(ValueError) as info:
        nd.load(path)
    message = str(info.value)
    assert "no time axis" in message and "not a movement poses dataset" in message
    assert "['temperature']" in message


def test_underlying_exception_is_kept_for_debugging_but_not_shown(sample_files, tmp_path):
    path = tmp_path / "cut.h5"
    path.write_bytes(sample_files["idtracker"].path.read_bytes()[:2000])
    with pytest.raises(ValueError) as info:
        nd.load(path, units="pixels")
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert info.value.__context__ is not None  # the h5py error, for whoever debugs
    assert "truncated, corrupt" in str(info.value)
