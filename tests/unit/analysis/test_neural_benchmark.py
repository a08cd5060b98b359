"""The single-unit benchmark (benchmarks/neural_measures.py) compares like with like.

Its NumPy/SciPy loop and the package's shuffle tests (the sparse path for counts and the dense shuffle_null) must
give the same numbers on the same shuffles, or the speed ratio it prints compares different arithmetic. Checked here at a tiny size (10 minutes at 50 Hz, six units,
three shuffles): every stage, every unit, every shuffle.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

PATH = Path(__file__).resolve().parents[3] / "benchmarks" / "neural_measures.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("neural_measures_benchmark", PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


@pytest.fixture(scope="module")
def session(bench):
    return bench.simulate(30_000, 6, seed=1)  # 10 min at 50 Hz, two each of grid, place, untuned


def test_session_layout(bench, session):
    assert session.xy.shape == (30_000, 2) and session.counts.shape == (30_000, 6)
    assert session.kinds == ("grid", "place", "untuned") * 2
    assert np.nanmin(session.xy) >= 0.0 and np.nanmax(session.xy) <= 1.0
    lost = np.isnan(session.xy[:, 0]).mean()
    assert 0.005 < lost <= 0.01  # 60 gaps of 5 samples, some overlapping
    np.testing.assert_allclose(session.durations, 0.02)
    # Untuned units fire at 2 Hz: 1,200 spikes expected in 600 s (Poisson sd ~35).
    assert abs(session.counts[:, 2].sum() - 1200) < 200


def test_ours_and_the_reference_loop_give_the_same_numbers(bench, session):
    fns = bench.make_score_fns(session)
    ours = {
        stage: bench.run_ours(fns[stage], session.counts, session.durations, n_shuffles=3)
        for stage in bench.STAGES
    }
    shifts = ours["rate maps"][0].shifts
    for result, wall, compile_s in ours.values():
        np.testing.assert_array_equal(result.shifts, shifts)  # one key: the same shuffles in every stage
        assert 0 <= compile_s < wall  # the benchmark reports compile time apart
    ref = bench.reference_setup(session.xy, session.durations)
    scores, seconds = bench.run_reference(session.counts, shifts, ref)
    assert all(s > 0 for s in seconds.values())
    # Float32 sums (ours) against float64 (the loop): rates and information to ~1e-6 relative; the grid score
    # is a difference of annulus correlations over ~1,000 bins in float32, good to ~1e-3.
    tolerance = {"rate maps": 1e-5, "spatial information": 1e-5, "grid score": 2e-3}
    for stage in bench.STAGES:
        got = np.column_stack([ours[stage][0].observed, ours[stage][0].null])
        want = scores[stage]
        assert got.shape == want.shape == (6, 4)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_allclose(got, want, rtol=tolerance[stage], atol=tolerance[stage], equal_nan=True)
    # The comparison covers real grid-cell scores, not only noise: the simulated grid cells score high, the
    # others low, unshuffled (Sargolini et al. 2006 call grid cells above ~0.3-0.4).
    # The sparse path (the benchmark's main rows) on the same key: the same shifts, the same numbers.
    for row, test in bench.make_sparse_tests(session).items():
        nulls, wall, compile_s = bench.run_sparse(test, session.counts, n_shuffles=3)
        assert set(nulls) == set(bench.ROWS[row]) and wall > 0 and compile_s >= 0
        for stage, null in nulls.items():
            np.testing.assert_array_equal(null.shifts, shifts)
            got = np.column_stack([null.observed, null.null])
            np.testing.assert_array_equal(np.isnan(got), np.isnan(scores[stage]))
            tol = tolerance[stage]
            np.testing.assert_allclose(got, scores[stage], rtol=tol, atol=tol, equal_nan=True)
    grid = scores["grid score"][:, 0]
    assert np.all(grid[[0, 3]] > 0.8)  # the others low, or NaN: no six peaks, as a one-field place cell
    assert np.all(np.nan_to_num(grid[[1, 2, 4, 5]]) < 0.3) and np.isfinite(grid[[2, 5]]).any()
    info = scores["spatial information"][:, 0]
    assert info[[0, 1, 3, 4]].min() > 3 * info[[2, 5]].max()  # tuned units carry more information per spike
