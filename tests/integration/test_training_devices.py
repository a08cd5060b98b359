"""Training sharded over 4 (forced) CPU devices gives the single-device result up to float tolerance."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import jax
import numpy as np
from helpers import tiny_train

from neuroethology.config import config_from_dict
from neuroethology.training import TrainConfig
from neuroethology.training.run import train_run

# Two seeds x 4 environments: on 4 devices the mesh is 2 (runs) x 2 (environments), so both the run axis and
# the environment batch are split, and each minibatch's gradient is summed across devices.
TINY = tiny_train()

SCRIPT = textwrap.dedent("""
    import json, sys
    import jax, numpy as np
    from neuroethology.config import config_from_dict
    from neuroethology.training import TrainConfig
    from neuroethology.training.run import train_run
    data = json.loads(sys.argv[1])
    data["run"]["devices"] = 0
    result = train_run(config_from_dict(TrainConfig, data), sys.argv[2], progress=False)
    state = result.runner_state
    assert jax.device_count() == 4, jax.devices()
    mesh = state.core_state.sharding.mesh
    print("MESH", dict(mesh.shape), state.core_state.sharding.spec, flush=True)
    np.savez(sys.argv[3], *[np.asarray(x) for x in jax.tree.leaves(state.weights)])
""")


def test_four_devices_match_one_device(tmp_path):
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4", JAX_PLATFORMS="cpu")
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(TINY), str(tmp_path / "run4"), str(tmp_path / "w4.npz")],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "MESH {'run': 2, 'env': 2} P('run', 'env')" in out.stdout
    manifest = json.loads((tmp_path / "run4" / "manifest.json").read_text())
    assert len(manifest["devices"]) == 4 and manifest["mesh"] == {"run": 2, "env": 2}

    one = train_run(config_from_dict(TrainConfig, TINY), tmp_path / "run1", progress=False)
    four = np.load(tmp_path / "w4.npz")
    single = [np.asarray(x) for x in jax.tree.leaves(one.runner_state.weights)]
    assert len(four.files) == len(single)
    for i, w in enumerate(single):
        np.testing.assert_allclose(four[f"arr_{i}"], w, rtol=1e-4, atol=1e-5)
    # The two seeds trained differently (the comparison is not trivially between equal runs).
    assert np.abs(single[0][0] - single[0][1]).max() > 1e-3
