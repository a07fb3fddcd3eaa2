"""Per batch of an operations campaign's output: when its steps ended (its faults end there), when its
timecards settled, when everything was quiet (arq's queue empty too), and the gaps after the steps.

    .venv/bin/pytest tests/proof/test_operations_campaign.py -q -s -p no:randomly > ops.log
    .venv/bin/python bench/ops_settle_times.py ops.log
"""

from __future__ import annotations

import re
import sys

STEPS = re.compile(r"steps done at ([\d.]+) s")
SETTLED = re.compile(r"^  (?:timecards settled at ([\d.]+) s; )?settled; dead-letter requeues at the end: \d+ at "
                     r"([\d.]+) s")


def batches(text: str) -> list[tuple[float, float | None, float]]:
    """(steps done, timecards settled or None for logs from before it was printed, all quiet) per batch."""
    rows: list[tuple[float, float | None, float]] = []
    steps: float | None = None
    for line in text.splitlines():
        if m := STEPS.search(line):
            steps = float(m.group(1))
        elif (m := SETTLED.search(line)) and steps is not None:
            rows.append((steps, float(m.group(1)) if m.group(1) else None, float(m.group(2))))
            steps = None
    return rows


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        rows = batches(f.read())
    for i, (done, settled, quiet) in enumerate(rows, 1):
        timecards = f"timecards settled {settled:6.1f} s (gap {settled - done:5.1f} s), " if settled is not None else ""
        print(f"batch {i:3d}: steps done {done:6.1f} s, {timecards}all quiet {quiet:6.1f} s (gap {quiet - done:5.1f} s)")
    for name, gaps in (("timecards settled", [s - d for d, s, _ in rows if s is not None]),
                       ("all quiet", [q - d for d, _, q in rows])):
        if gaps:
            print(f"{name}: {len(gaps)} batches, after the last step min {min(gaps):.1f} s, max {max(gaps):.1f} s, "
                  f"mean {sum(gaps) / len(gaps):.1f} s")


if __name__ == "__main__":
    main()
