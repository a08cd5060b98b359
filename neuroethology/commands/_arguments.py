"""Arguments that several subcommands share: the run they read, the Recording they write, counts that must
be positive, and arenas given as WxH or rR."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_run_argument", "add_recording_output", "check_at_least_one", "parse_arena"]


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


def check_at_least_one(args: argparse.Namespace, *names: str) -> None:
    """Each option ``names`` (as argparse stores them: ``max_chunks`` for ``--max-chunks``) that is given
    must be >= 1."""
    for name in names:
        value = getattr(args, name)
        if value is not None and value < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {value}")


def parse_arena(text: str | None) -> dict | None:
    """``"1x0.8"`` -> box, ``"r0.6"`` -> circle of radius 0.6 (metres)."""
    if text is None:
        return None
    try:
        if text.lower().startswith("r"):
            radius = float(text[1:])
            if radius > 0:
                return {"shape": "circle", "radius": radius}
        else:
            width, height = (float(v) for v in text.lower().split("x"))
            if width > 0 and height > 0:
                return {"shape": "box", "width": width, "height": height}
    except ValueError:
        pass
    raise ValueError(
        f"--arena: expected WIDTHxHEIGHT or rRADIUS in metres (e.g. 1.0x0.8, r0.6), got {text!r}"
    )
