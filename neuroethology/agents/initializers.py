"""Weight initializers that stay safe under ``vmap`` on every backend.

Why this module exists (the training hang of ``num_seeds >= 3``): Flax's ``orthogonal`` initializer draws a
Gaussian matrix and takes its QR decomposition. Under ``vmap`` (several seeds, a hyperparameter sweep, or a
user's ``jax.vmap(make_train(config))``) that QR becomes one *batched* LAPACK custom call. On CPU, jaxlib
0.10's LAPACK kernels (``jaxlib/cpu/lapack_kernels.cc``: ``GetLapackBatchChunkSize`` and
``ParallelBatchMap``) split a batch worth more than ~2e5 FLOP into chunks, schedule the chunks on XLA's
intra-op thread pool and then block the calling thread in ``absl::BlockingCounter::Wait``. The calling
thread is itself a worker of that pool: XLA's thunk executor runs independent thunks concurrently, and a
GRU has six independent QRs (three gates of the input and of the recurrent matrix). When as many batched
QRs as the pool has workers (two on a 2-core machine) start together, every worker waits for chunks that
only the waiting workers could run, and the process deadlocks with all threads idle. A native stack
(``gdb -p PID -ex 'thread apply all bt'``) shows both ``tf_XLAEigen`` threads in
``jax::ParallelBatchMap -> BlockingCounter::Wait`` under ``lapack_sgeqrf_ffi``, and the main thread in
``BlockUntilReady``. ``--xla_cpu_multi_thread_eigen=false`` does not help: it changes Eigen's matrix
products, not the FFI thread pool. Whether it hangs is a race, so it was intermittent (more seeds and more
QRs make it likelier: 8 seeds x 12 QRs of 64 x 64 hung 5 times in 5).

The cure at the cause: the batched QR never reaches LAPACK as a batch. :func:`orthogonal` wraps the
initializer in :func:`jax.custom_batching.sequential_vmap`, so under ``vmap`` it runs as a loop of
unbatched QRs (batch 1 is computed inline by the kernel, never scheduled on the pool). The values are
bit-identical to the batched call (the same LAPACK routine on the same matrices), and initialisation runs
once per training, so the loop costs nothing measurable. On GPU and TPU the loop is equally correct.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from flax import nnx

__all__ = ["orthogonal"]


def orthogonal(gain: float = 1.0) -> Callable[..., jax.Array]:
    """``init(key, shape, dtype=float32)``: an orthogonal matrix scaled by ``gain`` (Saxe et al. 2014, ICLR),
    exactly :func:`flax.nnx.initializers.orthogonal` (usable as a ``kernel_init``), but mapped sequentially
    under ``vmap`` (see the module docstring: a batched CPU QR can deadlock XLA's thread pool in jaxlib
    0.10)."""
    base = nnx.initializers.orthogonal(gain)

    def init(key: jax.Array, shape: tuple[int, ...], dtype: jnp.dtype = jnp.float32) -> jax.Array:
        shape = tuple(int(n) for n in shape)
        draw = jax.custom_batching.sequential_vmap(lambda k: base(k, shape, dtype))
        return draw(key)

    return init
