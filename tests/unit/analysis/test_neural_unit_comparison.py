"""compare_unit_maps: populations on different paths in one arena compared by their rate maps, against
shuffled tuning and each population's own split-half ceiling."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ou_track

from neuroethology.analysis.neural.unit_comparison import compare_unit_maps
from neuroethology.data import from_arrays
from neuroethology.data.neural import add_activity

BOX = {"shape": "box", "width": 1.0, "height": 1.0}
FPS = 25.0


def walk(rng, seconds):
    m = np.mod(ou_track(rng, int(seconds * FPS), dt=1 / FPS, sigma_v=0.15), 2.0)
    return np.where(m > 1, 2 - m, m)


def population(rng, xy, centres, *, width=0.12, peak=15.0, tuned=True, name="rat"):
    """Spike counts of place cells with the given field centres (Poisson), or of untuned units."""
    d2 = ((xy[:, None, :] - centres[None, :, :]) ** 2).sum(-1)
    rate = peak * np.exp(-d2 / (2 * width**2)) if tuned else np.full(d2.shape, 3.0)
    counts = rng.poisson(rate / FPS)
    rec = from_arrays(xy, fps=FPS, arena=BOX, individual_names=[name])
    return add_activity(rec, counts, kind="counts")


@pytest.fixture(scope="module")
def rats():
    rng = np.random.default_rng(0)
    centres = rng.uniform(0.1, 0.9, size=(30, 2))
    a = population(rng, walk(rng, 900), centres, name="rat")
    b = population(rng, walk(rng, 900), centres, name="model")  # same code, another path
    other = population(rng, walk(rng, 900), rng.uniform(0.1, 0.9, size=(30, 2)), name="other")
    untuned = population(rng, walk(rng, 900), centres, tuned=False, name="untuned")
    return a, b, other, untuned


def test_the_same_spatial_code_on_another_path_is_found_alike(rats):
    a, b, other, untuned = rats
    same = compare_unit_maps(a, b, labels=("rat", "model"), n_shuffles=49)
    assert same.attrs["n_bins"] > 300 and same.attrs["n_units"] == [30, 30]
    cka = same["value"].sel(statistic="cka")
    assert float(cka) > 0.8 and float(same["p_value"].sel(statistic="cka")) == pytest.approx(1 / 50)
    assert float(same["p_value"].sel(statistic="procrustes")) == pytest.approx(1 / 50)
    # Alike up to the noise of the data: near each population's split-half ceiling.
    assert float(cka) > 0.9 * float(same["ceiling_a"].sel(statistic="cka"))
    assert float(same["value"].sel(statistic="rsa")) > 0.5
    # Another set of place fields is less alike; untuned units are no more alike than shuffled tuning.
    diff = compare_unit_maps(a, other, n_shuffles=49)
    assert float(diff["value"].sel(statistic="cka")) < float(cka) - 0.1
    assert float(diff["value"].sel(statistic="procrustes")) > float(same["value"].sel(statistic="procrustes"))
    flat = compare_unit_maps(a, untuned, n_shuffles=49)
    assert float(flat["p_value"].sel(statistic="cka")) > 0.05
    assert float(flat["ceiling_b"].sel(statistic="cka")) < 0.5  # untuned maps are noise: no split-half code


def test_recordings_in_different_arenas_are_refused(rats):
    a = rats[0]
    b = a.assign_attrs(arena_width=2.0)
    with pytest.raises(ValueError, match="arena"):
        compare_unit_maps(a, b)


def test_compare_units_command(rats, tmp_path, capsys):
    from neuroethology.cli import main
    from neuroethology.data import save

    a, b = rats[0], rats[1]
    save(a, tmp_path / "rat.nc")
    save(b, tmp_path / "model.nc")
    out = tmp_path / "cmp"
    args = ["compare-units", str(tmp_path / "rat.nc"), str(tmp_path / "model.nc"), "--labels", "rat", "model"]
    assert main([*args, "--shuffles", "19", "--out", str(out)]) == 0
    import json

    report = json.loads((out / "comparison.json").read_text())
    cka = {r["statistic"]: r for r in report["statistics"]}["cka"]
    assert cka["value"] > 0.8 and cka["p_value"] == pytest.approx(1 / 20)
    assert "| cka |" in (out / "comparison.md").read_text()
    assert main([*args, "--shuffles", "0", "--out", str(tmp_path / "x")]) == 2
    assert "--shuffles" in capsys.readouterr().err
