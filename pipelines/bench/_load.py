"""The closed-loop load generator: N client threads, each sends its next request when the last returns.

Counting rules (the benchmark's honesty rests on them):
- a request is measured when it *starts* after the warm-up; every measured request is either a
  success (HTTP 200 / gRPC OK with a well-formed answer) or an error, so `ok + errors == sent`;
- throughput counts successes only, over the measured window: from the end of the warm-up to the
  last measured answer (not the nominal duration, which the last requests overrun);
- latency percentiles are over successes only (an error can be fast; it must not flatter p50).
"""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Answer", "LoopResult", "Send", "closed_loop", "http_client"]

Answer = tuple[bool, str]  # (success, served version or error text)
Send = Callable[[int], Answer]


@dataclass
class LoopResult:
    sent: int
    ok: int
    errors: int
    seconds: float  # the measured window
    latencies: list[float]  # seconds, successes only
    versions: set[str] = field(default_factory=set)  # every version a success reported
    first_error: str = ""


def closed_loop(
    clients: int, duration: float, warmup: float, make_client: Callable[[int], Send]
) -> LoopResult:
    """Run `clients` threads for `warmup + duration` seconds; measure after the warm-up."""
    barrier = threading.Barrier(clients + 1)
    lat: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    last_end = [0.0] * clients
    versions: list[set[str]] = [set() for _ in range(clients)]
    first_error = [""] * clients
    times: dict[str, float] = {}

    def worker(k: int) -> None:
        send = make_client(k)
        barrier.wait()
        start, stop = times["start"], times["stop"]
        i = k * 7919  # clients start at different inputs
        while (began := time.perf_counter()) < stop:
            ok, info = send(i)
            ended = time.perf_counter()
            i += 1
            if began < start:
                continue
            last_end[k] = ended
            if ok:
                lat[k].append(ended - began)
                versions[k].add(info)
            else:
                errors[k] += 1
                first_error[k] = first_error[k] or info

    threads = [
        threading.Thread(target=worker, args=(k,), name=f"client-{k}", daemon=True) for k in range(clients)
    ]
    for thread in threads:
        thread.start()
    now = time.perf_counter()
    times["start"], times["stop"] = now + warmup, now + warmup + duration
    barrier.wait()
    for thread in threads:
        thread.join(warmup + duration + 300)
    latencies = [x for per in lat for x in per]
    ok, n_errors = len(latencies), sum(errors)
    window = max(last_end) - times["start"] if ok + n_errors else duration
    return LoopResult(
        sent=ok + n_errors,
        ok=ok,
        errors=n_errors,
        seconds=max(window, 1e-9),
        latencies=latencies,
        versions=set().union(*versions),
        first_error=next((e for e in first_error if e), ""),
    )


def http_client(
    port: int, path: str, bodies: list[bytes], version_of: Callable[[http.client.HTTPResponse, bytes], str]
) -> Callable[[int], Send]:
    """Keep-alive HTTP clients POSTing `bodies` in turn; `version_of` reads the served version from
    a 200 answer (a header or the body). A broken connection is an error and is reopened."""

    def make(_: int) -> Send:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        headers = {"Content-Type": "application/json"}

        def send(i: int) -> Answer:
            nonlocal conn
            try:
                conn.request("POST", path, bodies[i % len(bodies)], headers)
                response = conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                return False, f"{type(exc).__name__}: {exc}"
            if response.status != 200:
                return False, f"HTTP {response.status}: {data[:200]!r}"
            return True, version_of(response, data)

        return send

    return make
