"""Environment throughput: env-steps/s of every environment at several batch sizes, next to bare-JAX kernels
doing the same arithmetic and RatInABox's Agent.update(), all measured in this run.

    python benchmarks/env_throughput.py                  # all environments, batches 1 64 1024 4096
    python benchmarks/env_throughput.py --batch 1 4096 --repeats 7

`neuroethology bench` prints the same table.
"""

from __future__ import annotations

import sys

from neuroethology.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
