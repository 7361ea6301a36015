"""Bounded load test of ``welfare-kg serve`` over loopback.

Starts the server on a free 127.0.0.1 port (or uses --url, which must be a loopback URL),
runs CLIENTS threads that each send REQUESTS requests (a mix of catalogue SELECTs, an
ASK, a CONSTRUCT and entity lookups in Turtle), then prints throughput, p50/p99 latency
and the number of errors. Exits 1 when any request failed.

    python benchmarks/load_test.py --clients 8 --requests 50
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from welfare_kg import queries, store

GDYNIA = "https://w3id.org/welfare-kg/id/organisation/mops-gdynia"


def workload() -> list[tuple[str, dict]]:
    """(path, headers) pairs the clients cycle through."""
    items = []
    for item in queries.catalogue():
        text = queries.with_bindings(item.text, queries.bindings_for(item, {}))
        items.append(("/sparql?" + urllib.parse.urlencode({"query": text}),
                      {"Accept": "application/sparql-results+json"}))
    items.append(("/sparql?" + urllib.parse.urlencode({"query": "ASK { ?s ?p ?o }"}), {"Accept": "text/csv"}))
    items.append(("/sparql?" + urllib.parse.urlencode({"query": f"DESCRIBE <{GDYNIA}>"}),
                  {"Accept": "text/turtle"}))
    for path in ("/id/organisation/mops-gdynia", "/vocab/method/job-shadowing", "/ontology/Project"):
        items.append((path, {"Accept": "text/turtle"}))
    return items


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(cache_dir: Path | None) -> tuple[subprocess.Popen, str]:
    port = free_port()
    args = [sys.executable, "-m", "welfare_kg.cli"]
    if cache_dir is not None:
        args += ["--cache-dir", str(cache_dir)]
    process = subprocess.Popen(args + ["serve", "--port", str(port)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/", timeout=2):
                return process, url
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.1)
    process.kill()
    raise SystemExit("load_test: the server did not start")


def client(url: str, items: list, offset: int, count: int, latencies: list, errors: list) -> None:
    for i in range(count):
        path, headers = items[(offset + i) % len(items)]
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(urllib.request.Request(url + path, headers=headers), timeout=30) as response:
                response.read()
                if response.status != 200:
                    errors.append(f"{response.status} {path[:60]}")
        except (urllib.error.URLError, OSError) as error:
            errors.append(f"{error} {path[:60]}")
        latencies.append(time.perf_counter() - started)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=50, help="requests per client")
    parser.add_argument("--url", help="a running server on 127.0.0.1 (default: start one)")
    parser.add_argument("--cache-dir", type=Path, help="store cache for the started server (default: a temporary one)")
    args = parser.parse_args(argv)
    if not 1 <= args.clients <= 64 or not 1 <= args.requests <= 1000:
        parser.error("keep it bounded: 1-64 clients, 1-1000 requests each")
    process = None
    if args.url:
        host = urllib.parse.urlsplit(args.url).hostname
        if host not in ("127.0.0.1", "localhost", "::1"):
            parser.error("--url must be a loopback URL")
        url = args.url.rstrip("/")
        scratch = None
    else:
        scratch = tempfile.TemporaryDirectory(prefix="welfare-kg-load-")
        cache_dir = args.cache_dir or Path(scratch.name)
        store.build_store(cache_dir)
        process, url = start_server(cache_dir)
    try:
        items = workload()
        latencies: list[float] = []
        errors: list[str] = []
        threads = [threading.Thread(target=client, args=(url, items, i * 7, args.requests, latencies, errors))
                   for i in range(args.clients)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
    finally:
        if process is not None:
            process.terminate()
            process.wait(10)
        if scratch is not None:
            scratch.cleanup()
    total = len(latencies)
    print(f"{args.clients} clients x {args.requests} requests = {total} requests in {elapsed:.2f} s")
    print(f"throughput {total / elapsed:.1f} requests/s")
    print(f"latency p50 {percentile(latencies, 50) * 1000:.1f} ms, p99 {percentile(latencies, 99) * 1000:.1f} ms, "
          f"mean {statistics.fmean(latencies) * 1000:.1f} ms")
    print(f"errors {len(errors)}")
    for error in errors[:10]:
        print("  " + error)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
