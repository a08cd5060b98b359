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


def test_restore_newest_skips_a_damaged_checkpoint_and_moves_nothing_when_none_can_be_read(tmp_path):
    import pytest

    from neuroethology.runs.checkpoints import restore_newest

    device = jax.sharding.SingleDeviceSharding(jax.devices()[0])
    manager = checkpoint_manager(tmp_path, keep=3)
    for step in (1, 2):
        save_checkpoint(manager, step, {"w": jnp.full((3,), float(step))}, {"updates": step})
    # A reader with the wrong structure fails on every checkpoint: the cause may be the reader, so nothing
    # is set aside and the error names each checkpoint.
    wrong = {"w": jax.ShapeDtypeStruct((4,), jnp.float32, sharding=device)}
    with pytest.raises(ValueError, match="no checkpoint can be read.*checkpoint 2.*checkpoint 1"):
        restore_newest(manager, wrong, say=lambda m: None)
    assert sorted(manager.all_steps()) == [1, 2]
    # A truncated shard in the newest: it is skipped, then set aside once the one before has been read.
    for shard in (p for p in (tmp_path / "checkpoints" / "2").rglob("*") if p.is_file() and p.stat().st_size):
        shard.write_bytes(shard.read_bytes()[:3])
    said = []
    right = {"w": jax.ShapeDtypeStruct((3,), jnp.float32, sharding=device)}
    step, state, meta = restore_newest(manager, right, say=said.append)
    assert step == 1 and meta == {"updates": 1} and np.asarray(state["w"]).tolist() == [1.0, 1.0, 1.0]
    assert any("checkpoint 2 cannot be read" in m for m in said)
    assert sorted(manager.all_steps()) == [1] and (tmp_path / "checkpoints" / "2.unreadable").is_dir()
    manager.close()
