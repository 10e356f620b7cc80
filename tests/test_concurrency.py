"""Fork safety and thread safety of the kernels' thread settings.

Every scenario runs in a fresh interpreter with a timeout, so that a deadlock (a forked
child waiting forever on GNU OpenMP's copied thread pool, a lock never released) is a
test failure rather than a hung test run.  The interpreter runs the kernels with two
OpenMP threads (``OMP_NUM_THREADS=2``) and BLAS with two (``OPENBLAS_NUM_THREADS=2``);
``OMP_WAIT_POLICY=passive`` only keeps idle OpenMP threads from spinning on a busy
machine (it does not change whether a forked child hangs).
"""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

TIMEOUT = 120  # seconds for one scenario (they take a few seconds each)

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="fork, forkserver and /proc are Linux features here")

# Imported by the scenario scripts and by their child processes (spawn, forkserver and
# loky children import functions by module name).
HELPERS = '''
import os
import warnings

import numpy as np
from threadpoolctl import threadpool_info

from gaussmix import GaussianMixture, _kernel

N_SAMPLES = 6000  # 24 chunks of 256 rows: enough for a team of 2 kernel threads


def make_data(seed):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=6.0, size=(3, 3))
    labels = rng.integers(0, 3, size=N_SAMPLES)
    return centres[labels] + rng.normal(size=(N_SAMPLES, 3))


def fit(seed):
    """Fit on the data of ``seed``; every output that must not depend on threads."""
    X = make_data(seed)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*did not converge.*")
        gm = GaussianMixture(3, random_state=seed, max_iter=50, tol=1e-8).fit(X)
    return {
        "means": gm.means_, "covariances": gm.covariances_, "weights": gm.weights_,
        "lower_bound": np.array(gm.lower_bound_), "score_samples": gm.score_samples(X),
        "proba": gm.predict_proba(X), "labels": gm.predict(X),
    }


def fit_recording_warnings(seed):
    """(fit, gaussmix fork warnings seen over two fits, effective_n_threads())."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = fit(seed)
        fit(seed)
        n_threads = _kernel.effective_n_threads()
    messages = [str(w.message) for w in caught
                if issubclass(w.category, RuntimeWarning) and "forked" in str(w.message)]
    return first, messages, n_threads


def assert_same_fit(a, b):
    assert a.keys() == b.keys()
    for key in a:
        if key == "labels":
            np.testing.assert_array_equal(a[key], b[key])
        else:
            np.testing.assert_allclose(a[key], b[key], rtol=1e-10, atol=1e-12, err_msg=key)


def thread_settings():
    """Every BLAS and OpenMP library's thread count, as threadpoolctl reports it."""
    return sorted((lib["user_api"], lib["filepath"], lib["num_threads"])
                  for lib in threadpool_info())


def os_threads():
    return len(os.listdir("/proc/self/task"))
'''


def run_scenario(tmp_path, body, timeout=TIMEOUT):
    """Run ``body`` as a script next to the helpers; fail on a timeout or an error."""
    (tmp_path / "gx_concurrency_helpers.py").write_text(HELPERS)
    script = tmp_path / "scenario.py"
    script.write_text(textwrap.dedent(body))
    env = dict(os.environ, OMP_NUM_THREADS="2", OPENBLAS_NUM_THREADS="2",
               OMP_WAIT_POLICY="passive")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(tmp_path), env.get("PYTHONPATH"))
                                        if p)
    # Own session: on a timeout the whole group goes, hung children included.
    proc = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"scenario hung for {timeout} s (deadlock)\nstdout:\n{out}\nstderr:\n{err}")
    finally:
        try:  # children the scenario left behind
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert proc.returncode == 0, f"stdout:\n{out}\nstderr:\n{err}"
    return out


@pytest.fixture(autouse=True)
def _two_cpus():
    if (os.cpu_count() or 1) < 2:
        pytest.skip("needs two CPUs for a multithreaded parent fit")


def test_fork_after_multithreaded_fit(tmp_path):
    out = run_scenario(tmp_path, """
        import multiprocessing as mp
        from gx_concurrency_helpers import (_kernel, assert_same_fit, fit,
                                            fit_recording_warnings, os_threads)

        ctx = mp.get_context("fork")
        assert _kernel.effective_n_threads() == 2

        # Forked before any OpenMP thread started: the child keeps its threads.
        with ctx.Pool(1) as pool:
            result, messages, n_threads = pool.apply_async(
                fit_recording_warnings, (0,)).get(timeout=60)
        assert messages == [] and n_threads == 2, (messages, n_threads)

        before = os_threads()
        expected = [fit(seed) for seed in (0, 1)]
        assert os_threads() > before, "the parent's fit started no OpenMP thread"
        assert_same_fit(result, expected[0])

        # Forked after: the child (a fresh one per task) runs serially and warns once.
        with ctx.Pool(2, maxtasksperchild=1) as pool:
            pending = [pool.apply_async(fit_recording_warnings, (seed,)) for seed in (0, 1)]
            results = [p.get(timeout=60) for p in pending]
        for (result, messages, n_threads), exp in zip(results, expected):
            assert_same_fit(result, exp)
            assert n_threads == 1
            assert messages == [_kernel.FORK_WARNING], messages
        assert "spawn" in _kernel.FORK_WARNING and "forkserver" in _kernel.FORK_WARNING

        # A bare os.fork() child of a child still works too, and the parent is unchanged.
        def grandchild():
            import os
            pid = os.fork()
            if pid == 0:
                try:
                    assert_same_fit(fit(1), expected[1])
                    os._exit(0)
                except BaseException:
                    os._exit(1)
            return os.waitpid(pid, 0)[1]

        with ctx.Pool(1) as pool:
            status = pool.apply_async(grandchild).get(timeout=60)
        assert status == 0, status
        assert _kernel.effective_n_threads() == 2
        assert_same_fit(fit(1), expected[1])
        print("ok")
    """)
    assert out.strip().endswith("ok")


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_spawn_and_forkserver_after_multithreaded_fit(tmp_path, method):
    out = run_scenario(tmp_path, f"""
        import multiprocessing as mp
        from gx_concurrency_helpers import assert_same_fit, fit, fit_recording_warnings

        if __name__ == "__main__":
            expected = [fit(seed) for seed in (0, 1)]
            with mp.get_context("{method}").Pool(2) as pool:
                pending = [pool.apply_async(fit_recording_warnings, (seed,))
                           for seed in (0, 1)]
                results = [p.get(timeout=90) for p in pending]
            for (result, messages, n_threads), exp in zip(results, expected):
                assert_same_fit(result, exp)
                assert messages == [], messages
                assert n_threads == 2, n_threads   # a fresh process keeps its threads
            print("ok")
    """)
    assert out.strip().endswith("ok")


def test_joblib_loky_after_multithreaded_fit(tmp_path):
    out = run_scenario(tmp_path, """
        from joblib import Parallel, delayed
        from gx_concurrency_helpers import assert_same_fit, fit

        if __name__ == "__main__":
            expected = [fit(seed) for seed in (0, 1, 2)]
            results = Parallel(n_jobs=2, backend="loky", timeout=90)(
                delayed(fit)(seed) for seed in (0, 1, 2))
            for result, exp in zip(results, expected):
                assert_same_fit(result, exp)
            print("ok")
    """)
    assert out.strip().endswith("ok")


def test_concurrent_fits_and_predicts_in_threads(tmp_path):
    out = run_scenario(tmp_path, """
        from concurrent.futures import ThreadPoolExecutor

        import numpy as np
        from threadpoolctl import ThreadpoolController
        from gx_concurrency_helpers import (GaussianMixture, _kernel, assert_same_fit, fit,
                                            make_data, thread_settings)

        blas = ThreadpoolController().select(user_api="blas").lib_controllers
        seen = set()   # BLAS thread counts while a kernel runs, over all threads

        class Spy:
            # The compiled module, recording BLAS's thread counts at every pass.
            def __init__(self, module):
                self._module = module

            def __getattr__(self, name):
                value = getattr(self._module, name)
                if name not in ("accumulate_stats", "log_prob"):
                    return value

                def call(*args):
                    seen.add(tuple(lib.num_threads for lib in blas))
                    return value(*args)
                return call

        _kernel._gmmcore = Spy(_kernel._gmmcore)

        seeds = range(4)
        expected = [fit(seed) for seed in seeds]
        fitted = [GaussianMixture(3, random_state=s, max_iter=50, tol=1e-8).fit(make_data(s))
                  for s in seeds]
        predictions = [gm.score_samples(make_data(9)) for gm in fitted]
        initial = thread_settings()
        assert [n for api, _, n in initial if api == "blas"] == [2] * len(blas), initial

        def predict(i):
            return fitted[i].score_samples(make_data(9))

        for round_ in range(5):
            with ThreadPoolExecutor(4) as pool:   # 4 fits at once, then 4 predicts + 4 fits
                results = list(pool.map(fit, seeds))
                mixed = [pool.submit(predict, i) for i in seeds]
                refits = [pool.submit(fit, s) for s in seeds]
                mixed = [f.result() for f in mixed]
                refits = [f.result() for f in refits]
            for result, refit, exp in zip(results, refits, expected):
                assert_same_fit(result, exp)
                assert_same_fit(refit, exp)
            for got, exp in zip(mixed, predictions):
                np.testing.assert_allclose(got, exp, rtol=1e-10, atol=1e-12)
            assert thread_settings() == initial, (round_, thread_settings(), initial)
        assert seen == {(1,) * len(blas)}, seen   # BLAS held to one thread in every pass
        assert not _kernel._BLAS_HOLDERS and not _kernel._BLAS_SAVED
        print("ok")
    """)
    assert out.strip().endswith("ok")


def test_single_threaded_blas_is_reentrant_and_thread_safe(tmp_path):
    out = run_scenario(tmp_path, """
        import multiprocessing as mp
        import random
        import threading
        import time
        from concurrent.futures import ThreadPoolExecutor

        from threadpoolctl import ThreadpoolController, threadpool_limits
        from gx_concurrency_helpers import _kernel, thread_settings

        blas = ThreadpoolController().select(user_api="blas").lib_controllers
        initial = thread_settings()

        def held():
            return all(lib.num_threads == 1 for lib in blas)

        def worker(seed):
            rng = random.Random(seed)
            for _ in range(200):
                with _kernel.single_threaded_blas():
                    assert held()
                    with _kernel.single_threaded_blas():   # re-entrant in one thread
                        assert held()
                        time.sleep(rng.random() * 1e-4)
                    assert held()
            return True

        for _ in range(3):
            with ThreadPoolExecutor(8) as pool:
                assert all(pool.map(worker, range(8)))
            assert thread_settings() == initial

        # Nested in a user's own limit: restored to it, then to the original.
        with threadpool_limits(3, user_api="blas"):
            with _kernel.single_threaded_blas():
                assert held()
            assert all(lib.num_threads == 3 for lib in blas)
        assert thread_settings() == initial

        # A fork while another thread holds the limit: the child starts unlimited.
        entered, release = threading.Event(), threading.Event()

        def hold():
            with _kernel.single_threaded_blas():
                entered.set()
                release.wait(30)

        holder = threading.Thread(target=hold)
        holder.start()
        entered.wait(30)
        assert held()
        ctx = mp.get_context("fork")
        queue = ctx.Queue()
        child = ctx.Process(target=lambda: queue.put(
            (thread_settings(), dict(_kernel._BLAS_HOLDERS), list(_kernel._BLAS_SAVED))))
        child.start()
        settings, holders, saved = queue.get(timeout=60)
        child.join(60)
        release.set()
        holder.join(30)
        assert settings == initial and holders == {} and saved == [], (settings, holders)
        assert thread_settings() == initial
        print("ok")
    """)
    assert out.strip().endswith("ok")
