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
