"""How much time does the QBO sandbox add per request?

Starts SandboxServer (limits off, no faults), sends N sequential requests over loopback with httpx
(a mix of query, create TimeActivity and read TimeActivity) and prints median / p95 of
  - server time: measured inside the app (X-Sandbox-Time-Ms, from first byte in to response start)
  - round trip: as the client sees it (includes httpx and the loopback socket)
The issue requires < 5 ms median added per request.

    .venv/bin/python bench/sandbox_latency.py [--requests 2000]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time

import httpx

from qbo_integration.sandbox.config import SandboxConfig
from qbo_integration.sandbox.runner import SandboxServer

TA = {"NameOf": "Employee", "EmployeeRef": {"value": "1"}, "CustomerRef": {"value": "1"},
      "ItemRef": {"value": "1"}, "TxnDate": "2026-03-02", "Hours": 8, "Minutes": 0,
      "BillableStatus": "Billable", "HourlyRate": 65, "Description": "bench"}


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--warmup", type=int, default=100)
    args = ap.parse_args()

    with SandboxServer(config=SandboxConfig(limits_enabled=False)) as srv:
        realm = srv.realm_ids[0]
        with httpx.Client(base_url=srv.base_url, timeout=30) as http:
            token = http.post(f"/_sandbox/realms/{realm}/grants").json()["access_token"]
            http.headers.update({"Authorization": f"Bearer {token}", "Accept": "application/json"})
            base = f"/v3/company/{realm}"
            created: list[str] = []

            def query() -> httpx.Response:
                return http.get(base + "/query", params={
                    "query": "SELECT * FROM Employee WHERE Active = true MAXRESULTS 10", "minorversion": 75})

            def create() -> httpx.Response:
                r = http.post(base + "/timeactivity", params={"minorversion": 75}, json=TA)
                created.append(r.json()["TimeActivity"]["Id"])
                return r

            def read() -> httpx.Response:
                return http.get(f"{base}/timeactivity/{created[-1]}", params={"minorversion": 75})

            ops = {"query": query, "create": create, "read": read}
            mix = itertools.cycle(["create", "query", "read", "query", "create", "read"])
            for name in itertools.islice(mix, args.warmup):
                ops[name]()
            server: dict[str, list[float]] = {k: [] for k in ops}
            client: dict[str, list[float]] = {k: [] for k in ops}
            started = time.perf_counter()
            for name in itertools.islice(mix, args.requests):
                t0 = time.perf_counter()
                r = ops[name]()
                client[name].append((time.perf_counter() - t0) * 1000)
                assert r.status_code == 200, r.text
                server[name].append(float(r.headers["x-sandbox-time-ms"]))
            wall = time.perf_counter() - started

    print(f"QBO sandbox latency: {args.requests} sequential requests over loopback "
          f"({args.requests / wall:.0f} req/s, limits off, no faults)")
    print(f"{'operation':<10}{'n':>6}{'server med':>12}{'server p95':>12}{'rtt med':>10}{'rtt p95':>10}  (ms)")
    rows = [*ops, "all"]
    for name in rows:
        s = [v for k in ops for v in server[k]] if name == "all" else server[name]
        c = [v for k in ops for v in client[k]] if name == "all" else client[name]
        print(f"{name:<10}{len(s):>6}{statistics.median(s):>12.3f}{pct(s, 95):>12.3f}"
              f"{statistics.median(c):>10.3f}{pct(c, 95):>10.3f}")
    med = statistics.median([v for k in ops for v in server[k]])
    print(f"median added server time {med:.3f} ms -> {'OK' if med < 5 else 'TOO SLOW'} (< 5 ms required)")


if __name__ == "__main__":
    main()
