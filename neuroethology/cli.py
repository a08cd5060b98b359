"""The ``neuroethology`` command line: one entry point, one module per subcommand.

Each module in :mod:`neuroethology.commands` defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and
``run(args) -> int``; adding a subcommand is adding a module and one line to ``COMMANDS`` there.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from .commands import COMMANDS

DESCRIPTION = """\
neuroethology: lab paradigms as fast JAX environments, agents fitted to animals, and one analysis for both.

Run `neuroethology COMMAND --help` for the options of a command. Typical first steps:
  neuroethology demo --out out/demo      simulate the open field and write figures
  neuroethology bench                    how many environment steps per second this machine runs
"""


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="neuroethology", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"neuroethology {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMANDS:
        module = importlib.import_module(f"neuroethology.commands.{module_name}")
        p = sub.add_parser(
            module.NAME,
            help=module.HELP,
            description=module.DESCRIPTION,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "_run", None) is None:
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except (ValueError, FileNotFoundError, FileExistsError) as e:
        # Bad input: say what is wrong, without a traceback.
        from .commands._load_options import command_line_words

        print(f"neuroethology {args.command}: error: {command_line_words(str(e))}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
