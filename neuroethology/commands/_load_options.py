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

from ._arguments import add_arena_argument

__all__ = ["add_load_arguments", "command_line_words", "load_recording", "load_options", "parse_arena"]

# load's keywords (and a fitted run's animal=) that the command line spells as flags: the keyword with dashes
# (``max_gap`` -> ``--max-gap``).
_KEYWORDS = (
    "fps scale units keypoint centroid individuals columns arena_corners arena_size arena max_gap max_interval "
    "allow_implausible animal"
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
    add_arena_argument(g, help=arena_help)
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


def parse_arena(text: str | None) -> dict[str, Any] | None:
    """``--arena``: a preset name (``plus_maze``), a YAML/JSON file of an arena, or the shorthands ``WxH`` (a
    box, metres) and ``rR`` (a circle of radius R), checked by :func:`neuroethology.envs.arena.resolve_arena`
    (one definition of an arena).

    Returns:
        ``None`` for no ``--arena``; the arena as a Recording stores it (:func:`neuroethology.data.arena_of`):
        ``{"shape": "box", "width": W, "height": H}`` or ``{"shape": "circle", "radius": R}`` for a bare box
        or circle, else the canonical mapping (``boundary``, ``holes``, ``walls``, ``regions``).

    Raises:
        ValueError: naming ``--arena``, the file and each field at fault; for a value that is none of the
            forms, the presets (and the nearest, for a misspelt one). One problem is one line; an arena file
            with several is a :class:`neuroethology.envs.arena.ArenaError` listing them all.
    """
    if text is None:
        return None
    from ..envs.arena import ArenaError, is_shorthand, resolve_arena
    from ..envs.arena_presets import preset_names

    path = Path(text).expanduser()
    spec: Any = path if path.is_file() and text not in preset_names() else _shorthand(text)
    if spec is None and text not in preset_names():
        raise ValueError(_not_an_arena(text, preset_names()))
    try:
        mapping = resolve_arena(text if spec is None else spec)
    except ArenaError as err:
        source = f"--arena {text!r}"
        if isinstance(spec, Path) and str(path.resolve()) != text:
            source += f" ({path.resolve()})"
        problems = err.problems
        if len(problems) == 1:
            raise ValueError(f"{source}: {problems[0]}") from None
        raise ArenaError(source, problems) from None
    if is_shorthand(mapping):
        sizes = ("width", "height") if mapping["shape"] == "box" else ("radius",)
        return {"shape": mapping["shape"], **{k: mapping[k] for k in sizes}}
    return mapping


def _shorthand(text: str) -> dict[str, Any] | None:
    """``"1x0.8"`` -> a box, ``"r0.6"`` -> a circle (sizes unchecked: ``resolve_arena`` checks them), or
    ``None`` when ``text`` is neither."""
    low = text.strip().lower()
    try:
        if low.startswith("r"):
            return {"shape": "circle", "radius": float(low[1:])}
        width, height = (float(v) for v in low.split("x"))
    except ValueError:  # not numbers, or not two of them
        return None
    return {"shape": "box", "width": width, "height": height}


def _not_an_arena(text: str, presets: list[str]) -> str:
    """The one-line error for an ``--arena`` value that is no preset, no file and no shorthand."""
    from ..problems import did_you_mean

    hint = did_you_mean(text, presets)
    if Path(text).suffix.lower() in (".yaml", ".yml", ".json") or "/" in text:
        hint += f"; no such file: {Path(text).expanduser().resolve()}"
    return (
        f"--arena: expected a preset ({', '.join(presets)}), a YAML/JSON arena file, or WIDTHxHEIGHT or "
        f"rRADIUS in metres (e.g. 1.0x0.8, r0.6); got {text!r}{hint}"
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
