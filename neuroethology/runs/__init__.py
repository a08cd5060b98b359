"""Run directories: the one format that every command that trains or fits writes, and reads back.

::

    RUN/config.yaml      the resolved config (every default written out)
    RUN/manifest.json    kind ("ppo" from `neuroethology train`, "fitted" from `neuroethology fit`), package
                         version, git commit, Python and JAX versions, devices, seeds, wall time, status and
                         one entry per invocation (start, resume)
    RUN/metrics.jsonl    one JSON object per line, appended as the run goes, cut back on resume
    RUN/checkpoints/N/   Orbax checkpoints after N updates (a flat dict of named leaves and a JSON meta)
    RUN/.lock            held by the one process writing the run (pid, host, command)

A fitted run adds ``model.json`` (what was fitted and how well). Both kinds are read back by
:func:`neuroethology.run_policies.load_policy`. Every file is written atomically or appended line by line, so
a run killed at any moment (``kill -9`` included) resumes from its newest readable checkpoint; its manifest
then reads ``"interrupted"`` (:func:`run_status`) until it is resumed.
"""

from .checkpoints import (
    CHECKPOINT_DIR,
    checkpoint_manager,
    restore_checkpoint,
    restore_newest,
    save_checkpoint,
)
from .lock import LOCK_FILE, RunLockedError, run_is_locked, run_lock, run_status
from .manifest import (
    MANIFEST_FILE,
    RUN_KINDS,
    environment_manifest,
    git_commit,
    manifest_kind,
    now,
    package_version,
    write_json,
    write_text_atomic,
)
from .metrics import METRICS_FILE, append_metric_lines, read_metrics, truncate_metrics

CONFIG_FILE = "config.yaml"

__all__ = [
    "CHECKPOINT_DIR",
    "CONFIG_FILE",
    "LOCK_FILE",
    "MANIFEST_FILE",
    "METRICS_FILE",
    "RUN_KINDS",
    "RunLockedError",
    "append_metric_lines",
    "checkpoint_manager",
    "environment_manifest",
    "git_commit",
    "manifest_kind",
    "now",
    "package_version",
    "read_metrics",
    "restore_checkpoint",
    "restore_newest",
    "run_is_locked",
    "run_lock",
    "run_status",
    "save_checkpoint",
    "truncate_metrics",
    "write_json",
    "write_text_atomic",
]
