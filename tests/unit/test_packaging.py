"""The distribution: every package is listed, and the built wheel imports from a fresh environment."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MAPPING = {
    "neuroethology": "neuroethology",
    "neuroethology.envs": "envs",
    "neuroethology.analysis": "analysis",
}


def declared_packages() -> list[str]:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]


def packages_on_disk() -> set[str]:
    found = set()
    for name, folder in MAPPING.items():
        root = REPO / folder
        for init in root.rglob("__init__.py"):
            if "__pycache__" in init.parts:
                continue
            rel = init.parent.relative_to(root).parts
            found.add(".".join((name, *rel)))
    return found


def test_every_package_folder_is_declared_in_pyproject():
    missing = packages_on_disk() - set(declared_packages())
    assert not missing, f"add these to [tool.setuptools] packages in pyproject.toml: {sorted(missing)}"


def test_package_dir_mapping_matches_the_design_card():
    setuptools_cfg = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert setuptools_cfg["package-dir"] == MAPPING


@pytest.mark.slow
def test_wheel_installs_into_a_fresh_venv_and_imports(tmp_path):
    wheel_dir = tmp_path / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(REPO),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheel_dir),
        ],
        check=True,
        cwd=tmp_path,
    )
    (wheel,) = wheel_dir.glob("neuroethology-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for pkg in declared_packages():
        assert f"{pkg.replace('.', '/')}/__init__.py" in names, f"{pkg} missing from the wheel"
    assert "neuroethology/envs/open_field.py" in names and "neuroethology/analysis/occupancy.py" in names
    assert not any(n.startswith(("envs/", "analysis/", "tests/")) for n in names), (
        "generic top-level names leaked"
    )

    fresh = tmp_path / "fresh"
    venv.EnvBuilder(with_pip=False).create(fresh)
    fresh_python = fresh / "bin" / "python"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(fresh_python),
            "install",
            "--no-deps",
            "-q",
            str(wheel),
        ],
        check=True,
    )
    # Dependencies come from this environment's site-packages (appended after the fresh venv's own), so the
    # wheel's copy of neuroethology is the one imported, not the editable checkout.
    fresh_site = subprocess.run(
        [str(fresh_python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    deps = Path(sysconfig.get_paths()["purelib"])
    (Path(fresh_site) / "zz_deps.pth").write_text(f"{deps}\n")
    code = (
        "import neuroethology, neuroethology.envs as ne, neuroethology.analysis as na, jax;"
        "env, p = ne.make('neuroethology/OpenField-v0');"
        "obs, s = env.reset(jax.random.key(0), p);"
        "print(neuroethology.__file__); print(ne.__file__); print(na.__file__); print(obs.shape)"
    )
    out = subprocess.run(
        [str(fresh_python), "-I", "-c", code], check=True, capture_output=True, text=True, cwd=tmp_path
    ).stdout.split()
    for path in out[:3]:
        assert path.startswith(str(fresh)), f"imported {path}, not the installed wheel"
    assert out[3] == "(14,)"
