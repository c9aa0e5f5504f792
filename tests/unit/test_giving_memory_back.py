"""Freed memory goes back to the system: now and then, after large pushes, and after many
small ones, but never more than once per interval for those (a trim stalls allocation)."""

from __future__ import annotations

import os
import threading
import time

import pytest

from collector.admission import TRIM_AFTER_PEAK_BYTES, InflightBytes
from core.memory import MALLOC_ARENAS, MemoryTrimmer, cap_malloc_arenas, release_freed_memory

KIB = 1024


class Trims:
    def __init__(self) -> None:
        self.count = 0
        self.now = 1000.0

    def trim(self) -> None:
        self.count += 1

    def clock(self) -> float:
        return self.now


def budget(trims: Trims) -> InflightBytes:
    return InflightBytes(
        64 * 1024 * KIB,
        trim_after_bytes=512 * KIB,
        trim_interval_s=30.0,
        trim=trims.trim,
        monotonic=trims.clock,
    )


def push(inflight: InflightBytes, size: int) -> None:
    inflight.reserve(size)
    inflight.release(size)


def test_one_push_of_two_thousand_alerts_is_trimmed_after_though_it_never_held_4_mib() -> None:
    trims = Trims()
    push(budget(trims), 900 * KIB)
    assert trims.count == 1


def test_small_pushes_trim_once_their_bytes_add_up_and_not_again_within_the_interval() -> None:
    trims = Trims()
    inflight = budget(trims)
    for _ in range(511):
        push(inflight, KIB)
    assert trims.count == 0
    push(inflight, KIB)
    assert trims.count == 1
    for _ in range(2000):
        push(inflight, KIB)
    assert trims.count == 1
    trims.now += 30.0
    push(inflight, KIB)
    assert trims.count == 2


def test_nothing_is_trimmed_while_a_push_is_still_in_flight() -> None:
    trims = Trims()
    inflight = budget(trims)
    inflight.reserve(KIB)
    push(inflight, 900 * KIB)
    assert trims.count == 0
    inflight.release(KIB)
    assert trims.count == 1


def test_a_burst_past_the_peak_is_trimmed_at_once_whatever_the_interval() -> None:
    trims = Trims()
    inflight = budget(trims)
    push(inflight, 900 * KIB)
    sizes = [TRIM_AFTER_PEAK_BYTES // 2, TRIM_AFTER_PEAK_BYTES // 2]
    for size in sizes:
        inflight.reserve(size)
    for size in sizes:
        inflight.release(size)
    assert trims.count == 2


@pytest.mark.parametrize(
    ("argument", "value"), [("trim_after_bytes", 0), ("trim_interval_s", -1.0)]
)
def test_a_budget_refuses_a_trim_rule_that_cannot_hold(argument: str, value: float) -> None:
    with pytest.raises(ValueError, match=argument):
        InflightBytes(1024, **{argument: value})  # type: ignore[arg-type]


def test_the_trimmer_trims_now_and_then_until_it_is_stopped() -> None:
    trimmed = threading.Event()
    count = [0]

    def trim() -> None:
        count[0] += 1
        trimmed.set()

    trimmer = MemoryTrimmer(every_s=0.01, trim=trim)
    trimmer.start()
    assert trimmed.wait(5.0)
    trimmer.stop()
    after_stop = count[0]
    time.sleep(0.05)
    assert count[0] == after_stop


def test_a_trimmer_refuses_an_interval_that_is_not_positive() -> None:
    with pytest.raises(ValueError, match="every_s"):
        MemoryTrimmer(every_s=0)


def test_giving_memory_back_is_harmless_whatever_the_heap_holds() -> None:
    kept = [bytearray(n) for n in range(1000, 200_000, 997)]
    release_freed_memory()
    assert len(kept) == 200


def test_the_arena_cap_reaches_the_workers_and_respects_the_operators_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Set, then removed: monkeypatch then removes what the cap sets, after the test.
    monkeypatch.setenv("MALLOC_ARENA_MAX", "")
    monkeypatch.delenv("MALLOC_ARENA_MAX")
    assert cap_malloc_arenas() is True
    assert os.environ["MALLOC_ARENA_MAX"] == str(MALLOC_ARENAS)
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert cap_malloc_arenas() is False
    assert os.environ["MALLOC_ARENA_MAX"] == "4"
    with pytest.raises(ValueError, match="count"):
        cap_malloc_arenas(0)
