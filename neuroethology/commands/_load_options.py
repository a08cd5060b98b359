"""How a command reads recordings: the options of :func:`neuroethology.data.load` on the command line.

``compare`` and ``fit`` read animals' files. Everything Python's ``load`` can be told, their command lines
can say (``--fps``, ``--scale``, ``--units``, ``--keypoint``, ``--individuals``, ``--columns``, ``--arena``,
``--arena-corners`` with ``--arena-size``, ``--max-gap``, ``--max-interval``, ``--allow-implausible``), plus
``--smooth`` (:func:`neuroethology.data.smooth` after loading). Error messages written for Python users
(``pass fps=``) are reworded for the command line (``pass --fps``) by :func:`command_line_words`, which the
CLI applies to every error it prints.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

__all__ = ["add_load_arguments", "command_line_words", "load_recording", "load_options", "parse_arena"]

# load's keywords that the command line spells as flags: the keyword with dashes (``max_gap`` -> ``--max-gap``).
_KEYWORDS = (
    "fps scale units keypoint centroid individuals columns arena_corners arena_size arena max_gap max_interval "
    "allow_implausible"
).split()
_FLAGS = {name: "--" + name.replace("_", "-") for name in _KEYWORDS}
_INDIVIDUALS = re.compile(r"individuals=\[(\w+)\]")  # individuals=[NAME] -> --individuals NAME
_COLUMNS = re.compile(r"columns=\{'(\w+)': '([^']*)'\}")  # columns={'time': 'NAME'} -> --columns time=NAME
_KEYWORD = re.compile(
    r"(?<![\w.\-'\"])(" + "|".join(sorted(_FLAGS, key=len, reverse=True)) + r")=(?!None\b)(True\b)?"
)


def command_line_words(text: str) -> str:
    """``text`` with load's Python keywords (``fps=``, ``allow_implausible=True``) as the command line's flags
    (``--fps``, ``--allow-implausible``)."""

    def flag(m: re.Match) -> str:
        after = text[m.end() : m.end() + 1]
        joined = m.group(2) or not after or after in " ,;:)]"
        return _FLAGS[m.group(1)] + ("" if joined else " ")

    text = _COLUMNS.sub(lambda m: f"--columns {m.group(1)}={m.group(2)}", text)
    text = _INDIVIDUALS.sub(lambda m: f"--individuals {m.group(1)}", text)
    return _KEYWORD.sub(flag, text)


def add_load_arguments(p: argparse.ArgumentParser, *, arena_help: str) -> None:
    """The options of :func:`neuroethology.data.load` (and ``--smooth``), in their own help group."""
    g = p.add_argument_group("reading the recordings (neuroethology.data.load)")
    g.add_argument("--fps", type=float, default=None, help="frame rate (Hz) of files that store none")
    g.add_argument("--scale", type=float, default=None, help="metres per pixel / per file unit")
    g.add_argument(
        "--units", choices=["m", "pixels"], default=None, help="the files are in metres / keep pixels"
    )
    g.add_argument("--keypoint", default=None, metavar="NAME", help="the body point to measure (a keypoint)")
    g.add_argument(
        "--centroid", action="store_true", help="measure the mean of the keypoints tracked at each time"
    )
    g.add_argument("--individuals", nargs="+", default=None, metavar="NAME", help="keep these animals only")
    g.add_argument(
        "--columns",
        nargs="+",
        default=None,
        metavar="ROLE=NAME",
        help="table columns by role: time, frame, x, y, lon, lat, individual, keypoint, confidence "
        "(e.g. time=t_sec x=px y=py; lon/lat in degrees are projected to metres)",
    )
    g.add_argument(
        "--arena",
        default=None,
        metavar="SPEC",
        help=arena_help + "; or a JSON/YAML file of {shape: box, width: W, height: H} or {shape: circle, "
        "radius: R}",
    )
    g.add_argument(
        "--arena-corners",
        nargs=4,
        default=None,
        metavar="X,Y",
        help="pixel positions of the arena corners (0,0) (W,0) (W,H) (0,H); with --arena-size",
    )
    g.add_argument(
        "--arena-size", default=None, metavar="WxH", help="arena size in metres, with --arena-corners"
    )
    g.add_argument("--max-gap", type=float, default=None, metavar="SECONDS", help="fill gaps up to this long")
    g.add_argument(
        "--max-interval",
        type=float,
        default=None,
        metavar="SECONDS",
        help="split the track where fixes are further apart than this (default: never, for time stamps as "
        "recorded)",
    )
    g.add_argument(
        "--smooth", type=float, default=None, metavar="SECONDS", help="Gaussian smoothing s.d. of positions"
    )
    g.add_argument(
        "--allow-implausible",
        action="store_true",
        help="load values no animal can have (far outside the arena, faster than 50 m/s, corrupt time stamps)",
    )


def parse_arena(text: str | None) -> dict | None:
    """``--arena``: ``"1x0.8"`` -> box, ``"r0.6"`` -> circle of radius 0.6 (metres), or a JSON/YAML file."""
    if text is None:
        return None
    if Path(text).is_file():
        from ..config import read_yaml  # YAML is a superset of JSON

        arena = read_yaml(Path(text))
        if not isinstance(arena, dict) or "shape" not in arena:
            raise ValueError(
                f"--arena {text}: expected a mapping with 'shape' (box or circle), got {arena!r}"
            )
        return arena
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
        f"--arena: expected WIDTHxHEIGHT or rRADIUS in metres (e.g. 1.0x0.8, r0.6) or a file, got {text!r}"
    )


def _pairs(values: list[str] | None, option: str, *, numbers: bool) -> Any:
    if values is None:
        return None
    out = []
    for v in values:
        sep = "," if numbers else "="
        parts = v.split(sep)
        if len(parts) != 2 or not all(parts):
            want = "X,Y" if numbers else "ROLE=NAME"
            raise ValueError(f"{option}: expected {want} items, got {v!r}")
        if numbers:
            try:
                out.append([float(parts[0]), float(parts[1])])
            except ValueError:
                raise ValueError(f"{option}: expected numbers X,Y, got {v!r}") from None
        else:
            out.append((parts[0].strip(), parts[1].strip()))
    return out if numbers else dict(out)


def load_options(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of :func:`neuroethology.data.load` the command line gave (``--smooth`` aside)."""
    size = None
    if args.arena_size is not None:
        try:
            size = [float(v) for v in args.arena_size.lower().split("x")]
        except ValueError:
            size = None
        if size is None or len(size) not in (1, 2):
            raise ValueError(
                f"--arena-size: expected WIDTHxHEIGHT in metres (e.g. 0.6x0.6), got {args.arena_size!r}"
            )
    options = {
        "fps": args.fps,
        "scale": args.scale,
        "units": args.units,
        "keypoint": args.keypoint,
        "centroid": args.centroid or None,
        "individuals": args.individuals,
        "columns": _pairs(args.columns, "--columns", numbers=False),
        "arena": parse_arena(args.arena),
        "arena_corners": _pairs(args.arena_corners, "--arena-corners", numbers=True),
        "arena_size": None if size is None else (size[0] if len(size) == 1 else size),
        "max_gap": args.max_gap,
        "max_interval": args.max_interval,
        "allow_implausible": args.allow_implausible or None,
    }
    if args.smooth is not None and not args.smooth >= 0:
        raise ValueError(f"--smooth must be a non-negative number of seconds, got {args.smooth}")
    return {k: v for k, v in options.items() if v is not None}


def load_recording(path: Path, args: argparse.Namespace, **extra: Any):
    """``path`` read with the command line's options (and ``extra`` keywords of ``load``), then smoothed
    with ``--smooth`` where asked (recorded in the Recording's processing steps). ``--arena`` gives an arena
    to a file without one; a file with its own, different arena is refused (never silently moved)."""
    from ..data import arena_of, load

    options = {**load_options(args), **extra}
    arena = options.pop("arena", None)
    rec = load(path, **options)
    own = arena_of(rec)
    if arena is not None and own is None:
        rec = load(path, **options, arena=arena)
    elif arena is not None and own != load_arena(arena):
        raise ValueError(
            f"{path}: the file has its own arena {own}; --arena {args.arena} applies to recordings without "
            "one (give the files that lack an arena in a separate command, or leave --arena out)"
        )
    return smoothed(rec, args)


def smoothed(rec: Any, args: argparse.Namespace) -> Any:
    """``rec`` smoothed with ``--smooth`` seconds where asked (e.g. the bundled rat, which is not loaded
    from a file), so that both groups of a comparison are treated alike."""
    from ..data import smooth

    return rec if not args.smooth else smooth(rec, sigma=args.smooth)


def load_arena(arena: dict) -> dict | None:
    """An arena as a Recording stores it (what :func:`neuroethology.data.arena_of` returns)."""
    import xarray as xr

    from ..data.schema import arena_attrs, arena_of

    return arena_of(xr.Dataset(attrs=arena_attrs(arena)))
