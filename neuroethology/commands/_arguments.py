"""Arguments that several subcommands share: the run they read, the run or Recording they write (and resume),
the seed, the progress bar, counts that must be positive, and the arena of a simulation (how recordings are
read, arenas included, is in :mod:`._load_options`)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import xarray as xr

__all__ = [
    "add_arena_argument",
    "add_no_progress_argument",
    "add_recording_output",
    "add_run_argument",
    "add_resume_argument",
    "add_run_output",
    "add_seed_argument",
    "check_at_least_one",
    "write_rollouts",
]


def add_run_argument(p: argparse.ArgumentParser) -> None:
    """The positional ``RUN``: any run directory, trained or fitted (one run format)."""
    p.add_argument(
        "run_dir",
        type=Path,
        metavar="RUN",
        help="a run directory written by `neuroethology train` or `neuroethology fit`",
    )


def add_recording_output(p: argparse.ArgumentParser) -> None:
    """``--out FILE.nc``: the Recording a command writes (check it with ``_paths.write_recording``)."""
    p.add_argument("--out", type=Path, required=True, metavar="FILE.nc", help="Recording to write (netCDF)")


def add_run_output(p: argparse.ArgumentParser, help: str) -> None:
    """``--out RUN``: the run directory a command writes (``help`` says whether it may be resumed)."""
    p.add_argument("--out", type=Path, required=True, metavar="RUN", help=help)


def add_resume_argument(p: argparse.ArgumentParser, help: str) -> None:
    """``--resume``: continue the run in ``--out`` from its newest checkpoint."""
    p.add_argument("--resume", action="store_true", help=help)


def add_seed_argument(p: argparse.ArgumentParser, help: str = "random seed (default 0)") -> None:
    """``--seed``: an integer seed, 0 unless given."""
    p.add_argument("--seed", type=int, default=0, help=help)


def add_animal_argument(p: argparse.ArgumentParser, default_help: str) -> None:
    """``--animal NAME``: of a network fitted to several animals (``fit --data A --data B``), one animal's twin;
    ``default_help`` says what the command takes without it."""
    p.add_argument(
        "--animal",
        default=None,
        metavar="NAME",
        help=f"of a network fitted to several animals: this animal's twin (default: {default_help})",
    )


def add_no_progress_argument(p: argparse.ArgumentParser) -> None:
    """``--no-progress``: no progress bar (for logs and batch jobs)."""
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def add_arena_argument(p: argparse.ArgumentParser | argparse._ArgumentGroup, help: str) -> None:
    """``--arena PRESET|FILE|WxH|rR``: an arena in metres, read by :func:`._load_options.parse_arena`.
    ``help`` says whose arena it is; the forms it takes (``arena=``'s three, and the shorthands) are added."""
    from ..envs.arena_presets import preset_names

    forms = (
        f"a preset ({', '.join(preset_names())}), a YAML/JSON file of an arena in metres ({{boundary: [[x, y], "
        "...], holes, walls, regions}, or {shape: box, width: W, height: H}), or WxH (a box, e.g. 1.0x0.8) or "
        "rR (a circle, e.g. r0.6)"
    )
    p.add_argument("--arena", default=None, metavar="PRESET|FILE|WxH|rR", help=f"{help}: {forms}")


def write_rollouts(
    args: argparse.Namespace, rollout: Callable[..., xr.Dataset], **options: Any
) -> xr.Dataset:
    """Check ``--out`` first, then ``rollout(RUN, seed=--seed, **options)`` (``run_policies.evaluate`` or
    ``simulate``: the agents of the run directory let loose), and write the Recording it returns there."""
    from ._paths import write_recording

    return write_recording(args.out, lambda: rollout(args.run_dir, seed=args.seed, **options))


def check_at_least_one(args: argparse.Namespace, *names: str) -> None:
    """Each option ``names`` (as argparse stores them: ``max_chunks`` for ``--max-chunks``) that is given
    must be >= 1."""
    for name in names:
        value = getattr(args, name)
        if value is not None and value < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {value}")
