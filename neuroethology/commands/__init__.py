"""Subcommands of the ``neuroethology`` command line (see :mod:`neuroethology.cli`)."""

# Order is the order of `neuroethology --help`.
COMMANDS = [
    "demo",
    "train",
    "evaluate",
    "fit",
    "select",
    "simulate",
    "compare",
    "neurons",
    "compare_units",
    "figures",
    "bench",
]
