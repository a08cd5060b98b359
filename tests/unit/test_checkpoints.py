"""Checkpoints: a run's batched state round-trips through Orbax, empty leaves included."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from neuroethology.runs.checkpoints import checkpoint_manager, restore_checkpoint, save_checkpoint


def test_checkpoints_hold_empty_leaves(tmp_path):
    """Orbax refuses zero-size arrays; states hold them (a feed-forward core's (B, 0) state, PatchForaging's
    unused (0,) patch levels in discrete mode). They round-trip as empty arrays."""
    state = {
        "core_state": jnp.zeros((2, 4, 0)),
        "weights": {"w": jnp.arange(6.0).reshape(2, 3)},
        "levels": jnp.zeros((2, 4, 0), jnp.float32),
        "key": jnp.ones((2, 2), jnp.uint32),
    }
    manager = checkpoint_manager(tmp_path, keep=2)
    save_checkpoint(manager, 3, state, {"updates": 3})
    device = jax.sharding.SingleDeviceSharding(jax.devices()[0])
    abstract = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=device), state)
    restored, meta = restore_checkpoint(manager, 3, abstract)
    manager.close()
    assert meta == {"updates": 3}
    assert jax.tree.structure(restored) == jax.tree.structure(state)
    for a, b in zip(jax.tree.leaves(restored), jax.tree.leaves(state), strict=True):
        assert a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
