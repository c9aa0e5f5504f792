"""CPU and memory of processes, read from /proc, and what the machine is."""

from __future__ import annotations

import contextlib
import os
import platform
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CLOCK_TICKS",
    "MIB",
    "ProcStat",
    "cpu_model",
    "peak_rss_mib",
    "postgres_ticks",
    "process_tree",
    "read_all_proc_stats",
    "read_proc_stat",
    "reset_peak_rss",
    "rss_mib",
    "server_ticks",
    "usable_cores",
]


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ProcStat:
    """CPU of one process, from /proc/PID/stat, in clock ticks."""

    pid: int
    ppid: int
    comm: str
    ticks: int
    reaped_children_ticks: int


def read_proc_stat(pid: int) -> ProcStat | None:
    """The CPU counters of `pid`, or None if it has exited."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        # It exited between the directory listing and this read.
        return None
    head, _, rest = text.rpartition(")")
    fields = rest.split()
    # fields[0] is stat field 3 (state): ppid is 4, utime..cstime are 14..17.
    return ProcStat(
        pid=pid,
        ppid=int(fields[1]),
        comm=head.partition("(")[2],
        ticks=int(fields[11]) + int(fields[12]),
        reaped_children_ticks=int(fields[13]) + int(fields[14]),
    )


def read_all_proc_stats() -> dict[int, ProcStat]:
    """The CPU counters of every process on the machine."""
    stats: dict[int, ProcStat] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and (stat := read_proc_stat(int(entry.name))) is not None:
            stats[stat.pid] = stat
    return stats


def process_tree(root: int, stats: dict[int, ProcStat]) -> set[int]:
    """`root` and all its descendants that are alive in `stats`."""
    children: dict[int, list[int]] = {}
    for stat in stats.values():
        children.setdefault(stat.ppid, []).append(stat.pid)
    found: set[int] = set()
    pending = [root]
    while pending:
        pid = pending.pop()
        if pid in stats and pid not in found:
            found.add(pid)
            pending.extend(children.get(pid, []))
    return found


def _total_ticks(stats: dict[int, ProcStat], pids: set[int]) -> int:
    # Reaped children's CPU moves into their parent's cutime/cstime, so summing both
    # keeps processes that exit during a scenario (worker restarts, backends) counted.
    return sum(stats[pid].ticks + stats[pid].reaped_children_ticks for pid in pids)


def server_ticks(server_pid: int, stats: dict[int, ProcStat]) -> int:
    """CPU ticks of the server: the uvicorn parent and all its workers."""
    return _total_ticks(stats, process_tree(server_pid, stats))


def postgres_ticks(stats: dict[int, ProcStat]) -> int:
    """CPU ticks of every `postgres` process (postmaster, backends, WAL writer, ...)."""
    return _total_ticks(stats, {pid for pid, stat in stats.items() if stat.comm == "postgres"})


def reset_peak_rss(pids: set[int]) -> bool:
    """Reset VmHWM of `pids` so that the next read is this scenario's peak."""
    for pid in pids:
        try:
            # "5" resets the peak RSS (Documentation/filesystems/proc.rst, clear_refs).
            Path(f"/proc/{pid}/clear_refs").write_text("5")
        except (FileNotFoundError, ProcessLookupError):
            continue  # it exited: nothing to reset
        except PermissionError:
            return False
    return True


def peak_rss_mib(pids: set[int]) -> float:
    """Sum of VmHWM over `pids`, in MiB."""
    total_kib = 0
    for pid in pids:
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total_kib += int(line.split()[1])
    return total_kib * 1024 / MIB


def rss_mib(pid: int) -> float:
    """The resident memory (VmRSS) of `pid` now, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def usable_cores() -> int:
    """CPUs this process may run on (what `nproc` prints)."""
    return len(os.sched_getaffinity(0))


def cpu_model() -> str:
    """The CPU's model name, from /proc/cpuinfo."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    return platform.processor() or "unknown CPU"
