"""Bench output and entry point: percentiles, tables, rates, the machine line, argv, run()."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

from procs import proc_status_kb  # noqa: E402


def percentile(values: Sequence[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def print_table(title: str, rows: Sequence[tuple[str, Any]], note: str | None = None) -> None:
    width = max(len(k) for k, _ in rows) if rows else 10
    print(f"\n== {title}")
    for k, v in rows:
        print(f"  {k.ljust(width)}  {v}")
    if note:
        print(f"  ({note})")
    sys.stdout.flush()


def print_grid(title: str, header: Sequence[str], lines: Sequence[Sequence[Any]]) -> None:
    cells = [list(map(str, header))] + [[str(c) for c in line] for line in lines]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n== {title}")
    for n, r in enumerate(cells):
        print("  " + "  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)))
        if n == 0:
            print("  " + "  ".join("-" * w for w in widths))
    sys.stdout.flush()


def synced_rate(times: Sequence[datetime], skip_seconds: float = 0.0) -> tuple[float, float]:
    """(timecards per minute over the whole send window, after skipping the first `skip_seconds`)."""
    if len(times) < 2:
        return float("nan"), float("nan")
    start, end = times[0], times[-1]
    span = (end - start).total_seconds()
    whole = (len(times) - 1) / span * 60 if span > 0 else float("nan")
    cut = start + timedelta(seconds=skip_seconds)
    later = [t for t in times if t >= cut]
    span2 = (end - cut).total_seconds()
    steady = (len(later) - 1) / span2 * 60 if skip_seconds and len(later) > 1 and span2 > 5 else float("nan")
    return whole, steady


def machine() -> str:
    import platform

    mem = proc_status_kb(os.getpid(), "VmRSS")  # touch /proc to be sure we are on Linux
    total = 0
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                total = int(line.split()[1]) // (1024 * 1024)
    del mem
    return f"{os.cpu_count()} cores, {total} GiB RAM, Python {platform.python_version()}, {platform.system()}"


def arg_parser(description: str) -> Any:
    import argparse

    p = argparse.ArgumentParser(description=description)
    p.add_argument("--small", action="store_true", help="scaled-down sizes that finish in about 3 minutes")
    return p


def log(message: str) -> None:
    """Progress on stderr (tables go to stdout)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run(main: Any) -> None:
    """asyncio.run; SIGTERM/Ctrl-C cancel the main task so its cleanup (processes, database) runs."""

    async def wrapper() -> None:
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        assert task is not None
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)
        await main

    try:
        asyncio.run(wrapper())
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("interrupted", file=sys.stderr)
        raise SystemExit(130) from None
