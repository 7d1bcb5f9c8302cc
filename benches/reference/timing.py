"""The references' timer, shared by the scripts beside it (they import it from their own folder)."""
import time


def median_ms(call, repeats, warmup=5):
    """Median wall time of `repeats` calls in ms (the upper middle one for an even count), after `warmup` calls."""
    for _ in range(warmup):
        call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return times[len(times) // 2]
