"""Git engine benchmark on the local servers: snapshot cost, commit latency, throughput under contention.

    uv run --frozen python bench/git_bench.py [--servers git-http-backend guarded-dulwich] [--files 1000]
                                               [--commits 10] [--writers 4] [--promotions 10]

Prints, per server: wall time and HTTP requests of a full and a partial snapshot of a repository of `--files`
files, the median latency of `--commits` sequential commits, and `--writers` threads each committing
`--promotions` promotions to one shared file of one branch (commits per second, attempts per commit).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from promotions.git import Author, GitRemote, Snapshot
from promotions_local.git_server import GitHttpBackendServer, GuardedDulwichServer, create_bare_repository

AUTHOR = Author("Benchmark", "bench@localhost")
SHARED_FILE = "promotions.yaml"
SERVERS: dict[str, Callable[[Path], GitHttpBackendServer | GuardedDulwichServer]] = {
    "git-http-backend": GitHttpBackendServer,
    "git-http-backend-v0": lambda root: GitHttpBackendServer(root, protocol_v2=False),
    "guarded-dulwich": GuardedDulwichServer,
}


def seed(root: Path, name: str, files: int) -> None:
    """A GitOps-like layout: `files` values files over apps and environments, about 1 KiB each."""
    environments = ("dev", "staging", "prod", "qa")
    contents = {SHARED_FILE: b"{}\n"}
    for number in range(files):
        app, environment = divmod(number, len(environments))
        values = f"image:\n  repository: registry.example/app-{app}\n  tag: 1.0.{number}\n".encode()
        contents[f"apps/app-{app:04d}/{environments[environment]}/values.yaml"] = values + b"#" * 960
    create_bare_repository(root / name, contents)


def measured(
    server: GitHttpBackendServer | GuardedDulwichServer, action: Callable[[], object]
) -> tuple[float, int]:
    requests, started = server.requests_served, time.perf_counter()
    action()
    return time.perf_counter() - started, server.requests_served - requests


def add_key(key: str) -> Callable[[Snapshot], dict[str, bytes | None]]:
    def edits(snapshot: Snapshot) -> dict[str, bytes | None]:
        current = snapshot.read(SHARED_FILE) or b""
        return {SHARED_FILE: (b"" if current == b"{}\n" else current) + f"{key}: promoted\n".encode()}

    return edits


def bench_server(kind: str, arguments: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="git-bench-") as directory:
        root = Path(directory)
        seed(root, "gitops.git", arguments.files)
        with SERVERS[kind](root) as server:
            url = server.url_for("gitops.git")
            print(f"\n== {kind}: {arguments.files} files")
            seconds, requests = measured(server, lambda: GitRemote(url).snapshot("main"))
            print(f"full snapshot          {seconds * 1000:8.1f} ms  {requests:4d} requests")
            seconds, requests = measured(server, lambda: GitRemote(url).snapshot("main", ["apps/app-0000"]))
            print(f"partial snapshot       {seconds * 1000:8.1f} ms  {requests:4d} requests")

            remote = GitRemote(url)
            latencies = []
            for number in range(arguments.commits):
                seconds, _ = measured(
                    server,
                    lambda number=number: remote.commit(
                        "main", add_key(f"sequential-{number}"), "Bench", AUTHOR, prefetch=[SHARED_FILE]
                    ),
                )
                latencies.append(seconds)
            print(f"commit (median of {arguments.commits:3d}) {statistics.median(latencies) * 1000:8.1f} ms")

            attempts: list[int] = []
            lock = threading.Lock()

            def writer(number: int) -> None:
                for promotion in range(arguments.promotions):
                    outcome = remote.commit(
                        "main",
                        add_key(f"writer-{number}-{promotion}"),
                        "Bench",
                        AUTHOR,
                        max_attempts=100,
                        prefetch=[SHARED_FILE],
                    )
                    with lock:
                        attempts.append(outcome.attempts)

            threads = [threading.Thread(target=writer, args=(number,)) for number in range(arguments.writers)]
            requests, started = server.requests_served, time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            seconds, requests = time.perf_counter() - started, server.requests_served - requests
            commits = len(attempts)
            print(
                f"{arguments.writers} writers x {arguments.promotions}: {commits} commits in {seconds:.1f} s "
                f"({commits / seconds:.1f}/s), attempts mean {statistics.mean(attempts):.2f} "
                f"max {max(attempts)}, {requests / commits:.1f} requests per commit"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--servers", nargs="+", choices=list(SERVERS), default=["git-http-backend", "guarded-dulwich"]
    )
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--commits", type=int, default=10)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--promotions", type=int, default=10)
    arguments = parser.parse_args()
    for kind in arguments.servers:
        bench_server(kind, arguments)


if __name__ == "__main__":
    main()
