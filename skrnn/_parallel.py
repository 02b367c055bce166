"""Process-wide machinery for the work of a fit or a predict: how many threads, BLAS
held to one thread meanwhile, the thread pool, and how the samples are cut into chunks
(a memory budget, and a plan that does not depend on the machine's core count).

The network (:mod:`skrnn._network`) asks this module how to cut and where to run its
chunks; the estimators (:mod:`skrnn._base`) open :func:`compute_threads` around their
work. Nothing here knows a gate or a loss: only a network's shapes (its
``NetworkSpec``) and its number of gates.
"""

import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from threadpoolctl import ThreadpoolController

from ._cells import CELLS

#: Memory budget of one chunk of samples in :func:`skrnn._network.loss_and_grad` and
#: :func:`skrnn._network.predict_raw`.
DEFAULT_CHUNK_BYTES = 256 * 2**20


def work_bytes_per_sample(spec, n_timesteps, itemsize):
    """Estimated forward + backward work memory of one sample: per step of each layer's
    cache, the stacked ``[x; 1; h]`` block, the gates, and the cell states and
    ``tanh(c)`` for the LSTM (the GRU keeps fewer)."""
    G = CELLS[spec.cell][2]
    D = spec.n_directions
    # a bidirectional layer also holds its reversed input and concatenated output
    per_step = sum(D * ((G + 3) * H + 2) + (D - 1) * 3 * H for H in spec.hidden_sizes)
    per_step += 2 * D * spec.n_features
    return max(1, per_step * n_timesteps * itemsize)


def chunk_size(spec, n_timesteps, itemsize, budget_bytes=None):
    """How many samples fit one chunk of forward + backward work in ``budget_bytes``
    (default: :data:`DEFAULT_CHUNK_BYTES`, read at call time)."""
    if budget_bytes is None:
        budget_bytes = DEFAULT_CHUNK_BYTES
    return max(1, int(budget_bytes // work_bytes_per_sample(spec, n_timesteps, itemsize)))


def chunks(lengths_sorted, size):
    """``(rows, T_c)`` of each chunk of ``size`` samples sorted longest first: the
    chunk's rows and its longest length."""
    N = len(lengths_sorted)
    for start in range(0, N, size):
        stop = min(N, start + size)
        yield slice(start, stop), int(lengths_sorted[start])


#: A thread's share of a step's recurrent GEMM must reach this many float64 FLOPs (a
#: float32 FLOP counts half: it takes about half the time) for the chunks of samples
#: to run in parallel threads; below it, handing the GIL back and forth costs more
#: than the second core saves. Measured on two cores with minibatches of 64 (H <= 64)
#: or 128: 1.8x faster at H=256; 1.2x for the float64 Elman cell at H=128 (2.1 M
#: float64 FLOPs a thread); no gain at about 1 M (the float32 Elman cell at H=128,
#: the LSTM and the GRU at H=64 in both dtypes); slower below (the Elman cell at
#: H=64).
PARALLEL_MIN_FLOPS = 2e6

#: The chunks of samples are planned for this many threads on every machine (see
#: :func:`plan_chunks`); fewer cores run the same chunks on fewer threads, more cores
#: leave the extra ones to other work.
PLAN_THREADS = 2

_POOL = {"pid": None, "workers": 0, "pool": None}
_POOL_LOCK = threading.Lock()


def _thread_pool(n_threads):
    """A process-wide pool of at least ``n_threads`` workers, made again after a fork
    (a forked child inherits the pool object but not its threads)."""
    with _POOL_LOCK:
        if _POOL["pid"] != os.getpid() or _POOL["workers"] < n_threads:
            if _POOL["pid"] == os.getpid():
                _POOL["pool"].shutdown(wait=False)  # queued work runs, then threads end
            _POOL.update(pid=os.getpid(), workers=n_threads,
                         pool=ThreadPoolExecutor(n_threads, thread_name_prefix="skrnn"))
        return _POOL["pool"]


def plan_threads(spec, n_rows, n_threads, itemsize=8):
    """How many of ``n_threads`` threads to use on ``n_rows`` samples of ``itemsize``
    bytes a value: one per chunk of samples computed at once, as long as each keeps
    :data:`PARALLEL_MIN_FLOPS` of a step's recurrent GEMM."""
    if n_threads <= 1:
        return 1
    G = CELLS[spec.cell][2]
    H = max(spec.hidden_sizes)
    flops = 2.0 * n_rows * G * H * H * itemsize / 8
    return max(1, min(n_threads, int(flops // PARALLEL_MIN_FLOPS)))


def plan_chunks(spec, N, T, itemsize, chunk, n_threads):
    """``(threads, samples per chunk)`` for ``N`` samples of ``T`` steps: the threads
    from :func:`plan_threads`; the chunks at most ``chunk`` samples, or what the memory
    budget allows (shared by the chunks in flight), cut to even sizes whose number is
    a multiple of the threads, so that no thread is left working alone on a last chunk
    (an LSTM minibatch of 128 cut 44 + 44 + 40 for two threads took 1.21x as long as
    32 + 32 + 32 + 32)."""
    # the chunks are cut for PLAN_THREADS threads whatever ``n_threads`` is, so that
    # the arithmetic (which samples share a chunk, the order of the sums) and hence
    # the result, bit for bit, does not depend on the machine's core count
    planned = plan_threads(spec, N, PLAN_THREADS, itemsize)
    size = chunk or max(1, chunk_size(spec, T, itemsize) // planned)
    count = math.ceil(N / max(1, size))
    count = planned * math.ceil(count / planned)
    return min(n_threads, planned), max(1, math.ceil(N / count))


def map_chunks(work, chunks, n_threads):
    """``work(rows, T_c)`` over the chunks, in order; in a thread pool if
    ``n_threads > 1`` (NumPy releases the GIL inside GEMMs and ufunc loops)."""
    chunks = list(chunks)
    if n_threads > 1 and len(chunks) > 1:
        return _thread_pool(n_threads).map(work, *zip(*chunks, strict=True))
    return (work(rows, T_c) for rows, T_c in chunks)


class SingleThreadedBLAS:
    """Process-wide "BLAS on one thread" while at least one caller is inside.

    Reference-counted under a lock, so that predict calls running concurrently in
    several threads never restore the thread count while another still runs (or
    leave it at one thread forever).
    """

    _lock = threading.Lock()
    _users = 0
    _limiter = None
    _controller = None

    @classmethod
    def controller(cls):
        """The process's ``ThreadpoolController``, made on first use (under the lock)."""
        if cls._controller is None:
            cls._controller = ThreadpoolController()
        return cls._controller

    def __enter__(self):
        cls = type(self)
        with cls._lock:
            if cls._users == 0:
                cls._limiter = cls.controller().limit(limits=1, user_api="blas")
            cls._users += 1
        return self

    def __exit__(self, *exc):
        cls = type(self)
        with cls._lock:
            cls._users -= 1
            if cls._users == 0:
                cls._limiter.restore_original_limits()
                cls._limiter = None
        return False


@contextmanager
def compute_threads():
    """Context for the work of a fit or a predict; yields how many threads the work
    may use (the ``n_threads`` of :func:`skrnn._network.loss_and_grad`).

    In the main thread BLAS runs on one thread, and skrnn spreads the work over the
    cores BLAS was allowed itself. A step's GEMMs are small: waking OpenBLAS threads
    for them costs more than it saves (a two-thread step measured slower than a
    one-thread step), and on a busy machine their spinning slowed a step by up to 20x.
    Other threads leave BLAS alone and work on one thread: threadpoolctl lets a single
    thread control OpenBLAS, and silently ignores the others (think of predict in a
    thread pool).
    """
    if threading.current_thread() is not threading.main_thread():
        yield 1
        return
    n_threads = blas_cores()
    with SingleThreadedBLAS():
        yield n_threads


def blas_cores():
    """Threads BLAS is allowed (which respects ``OMP_NUM_THREADS`` and friends)."""
    with SingleThreadedBLAS._lock:
        info = SingleThreadedBLAS.controller().select(user_api="blas").info()
    return max((lib["num_threads"] for lib in info), default=1)
