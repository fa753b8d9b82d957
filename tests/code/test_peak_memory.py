"""The training run's peak memory is its own, not the process's lifetime peak."""

from __future__ import annotations

import numpy as np

from pipelines.lifecycle.memory import PeakRss

MIB = 2**20


def test_a_later_block_does_not_inherit_an_earlier_blocks_peak() -> None:
    with PeakRss() as big:
        block = np.ones(300 * MIB // 8)  # 300 MiB, touched so it is resident
        del block
    with PeakRss() as small:
        np.ones(MIB // 8).sum()
    assert big.method == small.method != "none"
    # getrusage's ru_maxrss would report big's peak again here: what `peak_rss_mb` used to log
    assert big.mb - small.mb > 200, (big.mb, small.mb)
    assert small.mb > 10  # the process's own footprint still counts


def test_without_proc_clear_refs_a_sampling_thread_measures_the_block(monkeypatch, tmp_path) -> None:
    import time

    from pipelines.lifecycle import memory

    monkeypatch.setattr(memory, "_CLEAR_REFS", tmp_path / "missing" / "clear_refs")  # e.g. macOS
    with PeakRss() as peak:
        start = peak.mb
        block = np.ones(200 * MIB // 8)
        time.sleep(0.3)  # held for several sampling periods
        del block
    assert peak.method == "sampled"
    assert peak.mb - start > 150, (start, peak.mb)
