"""API under load: `/health` and the company health endpoint, 100 concurrent connections on loopback.

The company has a big history (bench/history.py: 1,000,000 audit rows, 50,000 timecards with outbox
rows, 100 approved timecards with no outbox row yet, 2,000 sync runs; `--audit-rows`/`--outbox-rows`
change it). The last line is company health's req/s as a fraction of `/health`'s in the same run.

The API runs as `qbo-integration serve` (one uvicorn process) on this run's database; the load
generator is wrk (Debian's package) when it is installed, else httpx + asyncio in this process (100
connections kept alive, one request in flight per connection; in Python the generator itself eats the
CPU the server needs). On a 2-core machine generator and server share the CPU: figures are a floor.

    .venv/bin/python bench/api_load.py            # 60 s per endpoint
    .venv/bin/python bench/api_load.py --small    # 20 s per endpoint
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import time

import asyncpg
import httpx
from common import (
    CLI,
    Stack,
    arg_parser,
    free_port,
    log,
    machine,
    percentile,
    print_grid,
    print_table,
    run,
    stop_process,
    wait_port,
)
from history import History, seed_history

MAX_REQUESTS = 500_000


def start_api(stack: Stack, port: int) -> subprocess.Popen:
    with open(stack.logdir / "api.log", "ab") as out:
        return subprocess.Popen([CLI, "serve", "--host", "127.0.0.1", "--port", str(port)], stdout=out,
                                stderr=subprocess.STDOUT, env=stack.env(), cwd=stack.logdir)


async def hammer(url: str, headers: dict[str, str], connections: int, seconds: float) -> tuple[int, int, list[float]]:
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(limits=limits, timeout=30, headers=headers) as client:
        end = time.monotonic() + seconds

        async def one() -> None:
            nonlocal errors
            while time.monotonic() < end and len(latencies) < MAX_REQUESTS:
                t = time.perf_counter()
                try:
                    r = await client.get(url)
                    ok = r.status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - t)
                errors += not ok

        await asyncio.gather(*(one() for _ in range(connections)))
    return len(latencies), errors, latencies


def _wrk_ms(text: str, label: str) -> float:
    m = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    if not m:
        return float("nan")
    return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]


def hammer_wrk(url: str, headers: dict[str, str], connections: int, seconds: float) -> tuple[int, int, float, float]:
    """(requests, non-2xx/errors, p50 ms, p99 ms) from wrk."""
    argv = ["wrk", "-t2", f"-c{connections}", f"-d{seconds:.0f}s", "--latency"]
    for k, v in headers.items():
        argv += ["-H", f"{k}: {v}"]
    out = subprocess.run([*argv, url], capture_output=True, text=True, check=True).stdout
    n = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(bad.group(1)) if bad else 0) + (sum(int(x) for x in sock.groups()) if sock else 0)
    return n, errors, _wrk_ms(out, "50"), _wrk_ms(out, "99")


def _load(avg: tuple[float, float, float]) -> str:
    return " ".join(f"{x:.2f}" for x in avg)


async def main() -> None:
    p = arg_parser(__doc__ or "")
    p.add_argument("--seconds", type=float, default=None, help="per endpoint")
    p.add_argument("--connections", type=int, default=100)
    p.add_argument("--generator", choices=["auto", "wrk", "httpx"], default="auto")
    p.add_argument("--audit-rows", type=int, default=History.audit_rows)
    p.add_argument("--outbox-rows", type=int, default=History.outbox_rows)
    args = p.parse_args()
    seconds = args.seconds or (20 if args.small else 60)
    use_wrk = args.generator == "wrk" or (args.generator == "auto" and shutil.which("wrk") is not None)
    load_before = os.getloadavg()
    async with Stack.open("api") as stack:
        c = await stack.add_company(0)
        history = History(audit_rows=args.audit_rows, outbox_rows=args.outbox_rows)
        conn = await asyncpg.connect(stack.database_url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            took = await seed_history(conn, c.company_id, c.integration_id, c.worker_id, c.project_id, history)
        finally:
            await conn.close()
        log(f"api_load: seeded {history.audit_rows:,} audit rows, {history.outbox_rows:,} outbox rows, "
            f"{history.backlog} approved without a row, {history.runs:,} runs in {took:.0f} s")
        port = free_port()
        api = start_api(stack, port)
        try:
            await asyncio.to_thread(wait_port, port, 300, api)
            from qbo_integration.api.auth import mint_token
            from qbo_integration.config import Settings

            token = mint_token(Settings(QBOI_ENV="dev"), company_id=c.company_id, role="admin")  # type: ignore[call-arg]
            base = f"http://127.0.0.1:{port}"
            targets = [("/health", f"{base}/health", {}),
                       ("company health", f"{base}/api/v1/integrations/quickbooks/health?companyId={c.company_id}",
                        {"Authorization": f"Bearer {token}"})]
            lines = []
            rates: dict[str, float] = {}
            for name, url, headers in targets:
                async with httpx.AsyncClient(timeout=30) as one:
                    warm = await one.get(url, headers=headers)
                log(f"api_load: {name} answers {warm.status_code}; {args.connections} connections for {seconds:.0f} s")
                t0 = time.monotonic()
                if use_wrk:
                    n, errors, p50, p99 = await asyncio.to_thread(hammer_wrk, url, headers, args.connections, seconds)
                else:
                    n, errors, lat = await hammer(url, headers, args.connections, seconds)
                    p50, p99 = percentile(lat, 50) * 1000, percentile(lat, 99) * 1000
                wall = time.monotonic() - t0
                rates[name] = n / wall
                lines.append([name, warm.status_code, n, errors, f"{n / wall:.0f}", f"{p50:.0f}", f"{p99:.0f}"])
        finally:
            stop_process(api)
        print_table("API load", [("machine", machine()),
                                 ("server", "qbo-integration serve, 1 uvicorn process, loopback"),
                                 ("load average (1, 5, 15 min)", f"start {_load(load_before)}, "
                                                                  f"end {_load(os.getloadavg())}"),
                                 ("history", f"{history.audit_rows:,} audit rows, {history.outbox_rows:,} outbox rows"),
                                 ("generator", f"{'wrk -t2' if use_wrk else 'httpx+asyncio'}, {args.connections} "
                                               f"connections, {seconds:.0f} s each")])
        print_grid("API load results", ["endpoint", "status", "requests", "errors", "req/s", "p50 ms", "p99 ms"], lines)
        print(f"company health / `/health` req/s in this run: {rates['company health'] / rates['/health']:.2f}")


if __name__ == "__main__":
    run(main())
