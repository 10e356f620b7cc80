"""The boundary to the compiled core: checks, thread counts, BLAS limits, buffers.

This is the only module that calls :mod:`gaussmix._gmmcore` (built from the Cython
sources in the repository's ``gmmcore/`` folder; their module docstring is the exact
contract of the pass).  Everything here is cheap, O(k d^2) glue.  Arrays handed to the
core are C-contiguous and of the data's dtype (float32 or float64); the statistics
come back in float64.  ``X`` is checked here, before dispatching to the compiled
float32/float64 specialisation, so a wrong array is a ValueError naming it; every
other shape check happens in the compiled module before its ``nogil`` code runs.

Threads
-------
The kernels run their own OpenMP team (``prange(..., num_threads=n_threads)``) and call
BLAS (``trmm``, ``syrk``) on 256-row chunks from inside it.  Two process-wide states are
involved, and this module owns both:

* **BLAS threads.**  Every kernel call holds :func:`single_threaded_blas`, a
  re-entrant, thread-safe, reference-counted limit (see its docstring for why the limit
  is needed even on one OpenMP thread, and why it has to be process-wide).
* **Instruction sets.**  The chunk loops are compiled for several instruction sets
  (``baseline``; on x86-64 also ``x86-64-v3``, AVX2 + FMA, and ``x86-64-v4``, AVX-512);
  at import the most capable one this CPU runs is chosen.  The environment variable
  ``GAUSSMIX_KERNEL`` names one instead (``auto`` or empty: choose), and
  :func:`use_variant` switches in a running process (tests run every variant).
* **Fork.**  GNU OpenMP (libgomp) is not fork-safe: a child forked after its parent ran
  an OpenMP team hangs in its first parallel region with more than one thread.  A
  forked child of a process that ran multithreaded gaussmix work therefore runs the
  kernels on one thread (which needs no team and works), holds libgomp to one thread
  (scikit-learn's ``KMeans`` of the initialisation uses it too) and warns once.
"""

import contextlib
import os
import threading
import warnings

import numpy as np
from threadpoolctl import ThreadpoolController

from . import _gmmcore
from ._gmmcore import CHUNK_SIZE, OPENMP_ENABLED

__all__ = ["CHUNK_SIZE", "OPENMP_ENABLED", "KernelInputs", "accumulate_stats",
           "accumulate_stats_raw", "effective_n_threads", "kernel_variant", "log_prob_raw",
           "openmp_max_threads", "single_threaded_blas", "supported_variants",
           "use_variant", "weighted_log_prob"]

VARIANT_ENV = "GAUSSMIX_KERNEL"


def supported_variants():
    """The instruction-set variants compiled in that this CPU runs, least capable first."""
    return [name for name in _gmmcore.built_variants() if _gmmcore.cpu_supports(name)]


def kernel_variant():
    """Name of the instruction-set variant of the chunk loops in use."""
    return _gmmcore.variant()


def use_variant(name):
    """Run the chunk loops of variant ``name`` from now on (``"auto"``: the best one).

    Raises ValueError for a name that was not compiled in and RuntimeError for one this
    CPU cannot run; returns the name of the variant previously in use.
    """
    previous = _gmmcore.variant()
    _gmmcore.set_variant(supported_variants()[-1] if name == "auto" else name)
    return previous


def _select_variant_at_import():
    requested = os.environ.get(VARIANT_ENV, "").strip() or "auto"
    try:
        use_variant(requested)
    except (ValueError, RuntimeError) as exc:
        use_variant("auto")
        warnings.warn(f"{VARIANT_ENV}={requested!r} ignored: {exc}; using the "
                      f"{kernel_variant()!r} kernels", RuntimeWarning, stacklevel=2)


_select_variant_at_import()

FORK_WARNING = (
    "gaussmix: this process was forked after OpenMP threads started; its kernels run "
    "on one thread. Use multiprocessing's 'spawn' or 'forkserver' start method (or "
    "joblib's default loky backend) to keep them multithreaded."
)

# ----------------------------------------------------------------- thread/fork state
_CONTROLLER = None          # threadpoolctl's view of the loaded libraries, made once
_GLOBAL_BLAS = None         # BLAS controllers whose thread count is process-wide
_LOCAL_BLAS = None          # ... and those whose limit is per calling thread (MKL)
_BLAS_LOCK = threading.Lock()
_BLAS_HOLDERS = {}          # thread ident -> [depth, [(local lib, saved count)]]
_BLAS_SAVED = []            # [(global lib, saved count)] while any thread holds it
_OPENMP_STARTED = False     # this process (or an ancestor) ran multithreaded OpenMP
_FORKED_AFTER_OPENMP = False
_FORK_WARNED = False


def openmp_max_threads():
    """Threads an OpenMP parallel region would use (OMP_NUM_THREADS, threadpoolctl)."""
    return _gmmcore.openmp_max_threads()


def _warn_forked():
    global _FORK_WARNED
    if not _FORK_WARNED:
        _FORK_WARNED = True
        warnings.warn(FORK_WARNING, RuntimeWarning, stacklevel=3)


def effective_n_threads():
    """OpenMP threads for the kernels: OMP_NUM_THREADS and threadpoolctl limits apply.

    1 (with a one-time RuntimeWarning) in a process forked after OpenMP threads
    started, whatever the limits say: libgomp's thread pool does not survive a fork.
    """
    if _FORKED_AFTER_OPENMP:
        _warn_forked()
        return 1
    return max(1, min(openmp_max_threads(), os.cpu_count() or 1))


def _kernel_threads(n_threads):
    """The team size a kernel call may use: ``n_threads``, or 1 in a forked child.

    A call asked for more than one thread marks the process (and the children it
    forks from now on) as having started OpenMP threads.  That is the whole fit's
    thread count (a fit's passes all ask for it), so the mark also covers
    scikit-learn's ``KMeans`` of the initialisation, which ran with as many threads.
    """
    global _OPENMP_STARTED
    if _FORKED_AFTER_OPENMP:
        _warn_forked()
        return 1
    n_threads = int(n_threads)
    if n_threads > 1:
        _OPENMP_STARTED = True
    return n_threads


def _check_X(X):
    if not isinstance(X, np.ndarray):
        raise ValueError(f"X must be a numpy array, got {type(X).__name__}")
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got {X.ndim}-D")
    if X.dtype not in (np.float32, np.float64):
        raise ValueError(f"X must be float32 or float64, got {X.dtype}")
    if not X.flags.c_contiguous:
        raise ValueError("X must be C-contiguous")


def _check_arrays(inputs, outputs):
    """Required arguments are arrays (TypeError naming None), and no output shares
    memory with an input or another output (the kernel reads while it writes)."""
    for name, value in {**inputs, **outputs}.items():
        if value is None:
            raise TypeError(f"{name} must be an array, got None")
    names = list(outputs)
    arrays = {**inputs, **outputs}
    for i, out in enumerate(names):
        for other in [n for n in arrays if n != out and n not in names[:i]]:
            if arrays[other] is not None and np.may_share_memory(outputs[out], arrays[other]):
                raise ValueError(f"{out} must not share memory with {other}")


def accumulate_stats_raw(X, sample_weight, means, anchors, offsets, factors, log_norm,
                         diagonal, nk, s1, s2, n_threads=1):
    """One pass: return sum_n w_n log p(x_n); fill N_k, S1_k, S2_k centred at ``means``.

    Every array but the float64 ones (``sample_weight``, ``log_norm``, ``nk``, ``s1``,
    ``s2``) must have ``X``'s dtype; see the contract in ``gmmcore/_gmmcore.pyx``.
    The call holds :func:`single_threaded_blas` (a counter increment when the caller
    already holds it) and runs on one thread in a forked child.
    """
    _check_X(X)
    inputs = {"X": X, "means": means, "anchors": anchors, "factors": factors,
              "log_norm": log_norm}
    _check_arrays(inputs | ({} if sample_weight is None else {"sample_weight": sample_weight})
                  | ({} if offsets is None else {"offsets": offsets}),
                  {"nk": nk, "s1": s1, "s2": s2})
    n_threads = _kernel_threads(n_threads)
    with single_threaded_blas():
        return _gmmcore.accumulate_stats(X, sample_weight, means, anchors, offsets,
                                         factors, log_norm, diagonal, nk, s1, s2,
                                         n_threads)


def log_prob_raw(X, anchors, offsets, factors, log_norm, diagonal, out, n_threads=1):
    """Fill ``out[n, k] = log_norm[k] - 0.5 * ||(x_n - m_k) @ U_k||^2`` (float64).

    Holds :func:`single_threaded_blas` and runs on one thread in a forked child.
    """
    _check_X(X)
    _check_arrays({"X": X, "anchors": anchors, "factors": factors, "log_norm": log_norm}
                  | ({} if offsets is None else {"offsets": offsets}), {"out": out})
    n_threads = _kernel_threads(n_threads)
    with single_threaded_blas():
        return _gmmcore.log_prob(X, anchors, offsets, factors, log_norm, diagonal, out,
                                 n_threads)


# ----------------------------------------------------------------- the BLAS limit
def _blas_controllers():
    """(process-wide, per-thread) BLAS controllers, found once (called under the lock)."""
    global _CONTROLLER, _GLOBAL_BLAS, _LOCAL_BLAS
    if _GLOBAL_BLAS is None:
        if _CONTROLLER is None:
            _CONTROLLER = ThreadpoolController()
        global_libs, local_libs = [], []
        for lib in _CONTROLLER.select(user_api="blas").lib_controllers:
            if lib.internal_api == "openblas" and getattr(lib, "threading_layer", "") == "openmp":
                # Sequential inside an OpenMP region already, and its limit would
                # also limit the calling thread's OpenMP (threadpoolctl's advice).
                continue
            # threadpoolctl limits MKL per calling thread (MKL_Set_Num_Threads_Local).
            (local_libs if lib.internal_api == "mkl" else global_libs).append(lib)
        _GLOBAL_BLAS, _LOCAL_BLAS = global_libs, local_libs
    return _GLOBAL_BLAS, _LOCAL_BLAS


def _set_threads(lib, n):
    """``lib.set_num_threads(n)``, effective from whichever thread calls it.

    threadpoolctl (3.8) lets only one "controlling" thread change a process-wide
    OpenBLAS and silently ignores the others -- with a toggle per Python thread, that
    is what left BLAS at one thread after concurrent fits.  This module serialises
    its own changes under its lock, so it takes control for the one call and gives it
    back (a later ``threadpool_limits`` in any thread works as before).
    """
    clear = getattr(type(lib), "clear_controlling_thread", None)
    for _ in range(2):  # a second try if another thread took control in between
        if clear is not None:
            clear(force=True)
        try:
            lib.set_num_threads(n)
        finally:
            if clear is not None:
                clear()
        if lib.num_threads == n:
            return


def _limit(libs):
    """Set every lib of more than one thread to one; return what to restore."""
    saved = []
    try:
        for lib in libs:
            n = lib.num_threads
            if n is not None and n > 1:
                saved.append((lib, n))
                _set_threads(lib, 1)
    except BaseException:
        _restore(saved)
        raise
    return saved


def _restore(saved):
    """Undo :func:`_limit`, except where someone else changed the count meanwhile."""
    for lib, n in saved:
        if lib.num_threads == 1:
            _set_threads(lib, n)


def _blas_enter(ident):
    with _BLAS_LOCK:
        global_libs, local_libs = _blas_controllers()
        holder = _BLAS_HOLDERS.get(ident)
        if holder is not None:
            holder[0] += 1
            return
        if not _BLAS_HOLDERS:
            _BLAS_SAVED[:] = _limit(global_libs)
        try:
            local_saved = _limit(local_libs) if local_libs else []
        except BaseException:
            if not _BLAS_HOLDERS:
                saved, _BLAS_SAVED[:] = list(_BLAS_SAVED), []
                _restore(saved)
            raise
        _BLAS_HOLDERS[ident] = [1, local_saved]


def _blas_exit(ident):
    with _BLAS_LOCK:
        holder = _BLAS_HOLDERS[ident]
        holder[0] -= 1
        if holder[0]:
            return
        del _BLAS_HOLDERS[ident]
        saved = []
        if not _BLAS_HOLDERS:
            saved, _BLAS_SAVED[:] = list(_BLAS_SAVED), []
        try:
            _restore(holder[1])
        finally:
            _restore(saved)


@contextlib.contextmanager
def single_threaded_blas():
    """Hold BLAS to one thread while the kernels run; re-entrant and thread-safe.

    Why a limit: the kernels call BLAS (``trmm``, ``syrk``) on 256-row chunks from
    inside their OpenMP team.  OpenBLAS (the pthreads build scipy's wheels ship)
    threads ``syrk`` whatever its size and ``trmm`` from 8 features on, so every chunk
    wakes its thread pool: on 2 cores a pass took 3-10 times as long with 2 BLAS
    threads as with 1, with 2 OpenMP threads (oversubscription) and also with 1
    (the fork/join of each tiny call).  So every kernel call holds the limit,
    whatever its ``n_threads``.

    Why process-wide: OpenBLAS's thread count is one global (its
    ``openblas_set_num_threads_local`` sets the same global in pthreads builds), and
    the BLAS calls run on the OpenMP worker threads, not on the caller's.  What is made
    safe is the toggle itself: the first holder (over all Python threads) saves the
    counts and sets 1, later holders only count, the last one out restores the saved
    counts -- except where someone changed a count meanwhile (that change stands).
    Nothing is changed when BLAS already runs on one thread.  A library whose limit is
    per calling thread (MKL, through threadpoolctl) is set and restored by each thread
    for itself; OpenBLAS built with OpenMP is left alone (it is sequential inside an
    OpenMP region, and its limit would limit the caller's OpenMP too).

    Every kernel call holds it, so a caller only wraps a block of many calls (a fit's
    session) to pay for the toggle once.  Scikit-learn's ``KMeans`` (the
    initialisation) toggles the same limit without a count: run inside this context,
    it saves and restores the 1 set here, which is harmless.  A toggle by other code
    that overlaps this one in another thread can still leave the other code's saved
    value behind (threadpoolctl's limits are not re-entrant across threads).
    """
    ident = threading.get_ident()
    _blas_enter(ident)
    try:
        yield
    finally:
        _blas_exit(ident)


# ----------------------------------------------------------------- fork
def _before_fork():
    # The child gets a consistent copy of the limit's state (the lock is free in it).
    _BLAS_LOCK.acquire()


def _after_fork_in_parent():
    _BLAS_LOCK.release()


def _threadpoolctl_lock_free():
    """False if threadpoolctl's OpenBLAS lock was held at the fork (by a thread gone)."""
    for lib in _GLOBAL_BLAS or ():
        lock = getattr(getattr(type(lib), "_SHARED_STATE", None), "lock", None)
        if lock is not None and lock.locked():
            return False
    return True


def _after_fork_in_child():
    """Reset the limit's state to this (only) thread's; go serial after OpenMP use."""
    global _BLAS_LOCK, _FORKED_AFTER_OPENMP, _FORK_WARNED
    _BLAS_LOCK = threading.Lock()
    ident = threading.get_ident()
    mine = _BLAS_HOLDERS.get(ident)
    others = [h for i, h in _BLAS_HOLDERS.items() if i != ident]
    _BLAS_HOLDERS.clear()
    if mine is not None:
        _BLAS_HOLDERS[ident] = mine
    saved = []
    if mine is None:
        saved, _BLAS_SAVED[:] = list(_BLAS_SAVED), []
    # The parent's other threads do not exist here: undo what they held (unless that
    # could block: then BLAS merely stays at one thread in this process).
    if (saved or others) and _threadpoolctl_lock_free():
        try:
            for holder in others:
                _restore(holder[1])
            _restore(saved)
        except Exception:  # noqa: BLE001 -- an at-fork hook must not fail the fork
            pass
    if not _OPENMP_STARTED:
        return
    _FORKED_AFTER_OPENMP = True
    _FORK_WARNED = False
    try:
        # This thread's libgomp pool is a copy whose threads are gone: any parallel
        # region of more than one thread (ours, or scikit-learn's KMeans) would wait for
        # them forever.  omp_set_num_threads(1) applies to this thread, the one whose
        # pool is broken (threads started in the child get fresh pools).
        controller = _CONTROLLER if _CONTROLLER is not None else ThreadpoolController()
        for lib in controller.select(user_api="openmp").lib_controllers:
            if lib.prefix == "libgomp":
                lib.set_num_threads(1)
    except Exception:  # noqa: BLE001
        pass


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent,
                        after_in_child=_after_fork_in_child)


class KernelInputs:
    """Parameters laid out for the compiled core: anchors, offsets, factors and log_norm.

    ``log_norm[k]`` is the part of the log-density that does not depend on x, so the
    same pass serves EM (log-weight + log det U - d/2 log 2 pi) and variational Bayes
    (the corresponding expectations).
    """

    __slots__ = ("anchors", "offsets", "factors", "log_norm", "diagonal", "means")

    def __init__(self, covariance, means, prec_chol, log_norm, dtype):
        self.anchors, self.offsets, self.factors = covariance.kernel_layout(
            means, prec_chol, dtype
        )
        self.means = np.ascontiguousarray(means, dtype=dtype)
        self.log_norm = np.ascontiguousarray(log_norm, dtype=np.float64)
        self.diagonal = covariance.diagonal


def accumulate_stats(X, sample_weight, inputs, stats_shape, n_threads):
    """One fused pass: (sum_n w_n log p(x_n), N_k, S1_k, S2_k) centred at the means."""
    k, d = inputs.means.shape
    nk = np.empty(k)
    s1 = np.empty((k, d))
    s2 = np.empty(stats_shape)
    log_likelihood = accumulate_stats_raw(
        X, sample_weight, inputs.means, inputs.anchors, inputs.offsets, inputs.factors,
        inputs.log_norm, inputs.diagonal, nk, s1, s2, n_threads,
    )
    if not np.isfinite(log_likelihood):
        raise ValueError(
            "The log-likelihood of X is not finite: squared distances overflow the "
            f"floating-point range of {X.dtype} (the data's scale is too large or the "
            "covariances too small). Rescale X (e.g. StandardScaler) or increase reg_covar."
        )
    return log_likelihood, nk, s1, s2


def weighted_log_prob(X, inputs, n_threads):
    """log p(x_n, z_n = k) for every sample and component, shape (n, k), float64."""
    out = np.empty((X.shape[0], inputs.log_norm.shape[0]))
    log_prob_raw(
        X, inputs.anchors, inputs.offsets, inputs.factors, inputs.log_norm,
        inputs.diagonal, out, n_threads,
    )
    return out
