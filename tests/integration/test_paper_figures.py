"""The paper-figure scripts run from their configs and write their figures (with small settings)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "paper_figures" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_environments_figure(tmp_path, monkeypatch):
    module = _script("fig_environments")
    monkeypatch.setattr(module, "PANELS", [(t, e, o, f, 0.2) for t, e, o, f, _ in module.PANELS])
    written = module.main(["--out", str(tmp_path)])
    assert {p.suffix for p in written} == {".pdf", ".png"}
    assert all(p.stat().st_size > 5000 for p in written)


def test_fitted_rat_figure_reads_its_config(tmp_path, monkeypatch):
    """The script hands run_demo (tested end to end by the demo's CLI test) the shipped config with overrides."""
    module = _script("fig_fitted_rat")
    seen = {}

    def fake_run_demo(out, *, config, runs):
        seen.update(out=out, config=config, runs=runs)
        return {"network": {"model": config.model}}

    monkeypatch.setattr(module, "run_demo", fake_run_demo)
    report = module.main(["model=lstm", "total_steps=50", "--runs", "3", "--out", str(tmp_path)])
    from neuroethology.fitting import FitConfig

    assert report == {"network": {"model": "lstm"}}
    assert seen["config"] == FitConfig(model="lstm", total_steps=50) and seen["runs"] == 3
    assert seen["out"] == tmp_path
