"""Progress messages of the fit loop (``verbose``, ``verbose_interval``)."""

from time import perf_counter


class SilentReporter:
    """Reports nothing (``verbose=0``)."""

    def init_begin(self, init):
        pass

    def iteration_end(self, n_iter, change):
        pass

    def init_end(self, lower_bound, converged):
        pass


class VerboseReporter(SilentReporter):
    """scikit-learn's messages: 1 prints each initialisation and iteration, 2 adds
    timings and the change of the objective."""

    def __init__(self, verbose, verbose_interval):
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self._init_start = self._iter_start = perf_counter()

    def init_begin(self, init):
        print(f"Initialization {init}")
        self._init_start = self._iter_start = perf_counter()

    def iteration_end(self, n_iter, change):
        if n_iter % self.verbose_interval != 0:
            return
        if self.verbose == 1:
            print(f"  Iteration {n_iter}")
        else:
            now = perf_counter()
            print(f"  Iteration {n_iter}\t time lapse {now - self._iter_start:.5f}s"
                  f"\t ll change {change:.5f}")
            self._iter_start = now

    def init_end(self, lower_bound, converged):
        msg = "converged" if converged else "did not converge"
        if self.verbose == 1:
            print(f"Initialization {msg}.")
        else:
            elapsed = perf_counter() - self._init_start
            print(f"Initialization {msg}. time lapse {elapsed:.5f}s\t lower bound "
                  f"{lower_bound:.5f}.")
