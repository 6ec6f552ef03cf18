"""Git engine benchmark: one promotion (edit one values.yaml, commit, push) three ways, on fixture
repositories served by `git http-backend` on loopback, then concurrent promotions to one branch.

    uv run --frozen python bench/git_bench.py [--small-files 100] [--large-files 10000] [--history 5000]
        [--repeat 7] [--baseline-repeat 1] [--concurrent 50] [--skip-full-clone] [--binary-mib 150]

Fixtures (GitOps layout apps/app-NNNN/ENV/{values.yaml + 9 manifests}, 40 files per app, and a README):
`--small-files` files; `--large-files` files; `--large-files` files with `--history` more commits, each
promoting one values.yaml. Every path edits apps/<middle app>/prod/values.yaml:

- ours: `GitRemote(url).commit(branch, edit, ..., prefetch=[that file])`, a fresh remote per promotion, as in
  a fresh Lambda container.
- dulwich full clone: porcelain clone (whole history, work tree on disk), edit, add, commit, push.
- git CLI: `git clone --depth 1 --filter=blob:none --sparse`, `git sparse-checkout set --no-cone` on the
  file, edit, commit, push.

Columns: wall time (median of the runs; ours and the git CLI take turns); peak memory (tracemalloc peak of
Python allocations for the in-process paths, in a separate traced run; max RSS of the shell and git
processes, from GNU time, for the git CLI); bytes the server sent (status lines, headers and bodies); HTTP
requests of one run. The server runs in a child process, so neither its memory nor its git processes count
against the client paths; its CPU time is reported for the concurrent promotions.

Last, our path against the same server with partial-clone filters off (as Bitbucket Cloud serves): on the large
fixture and on `--binary-mib` MiB of files that do not compress, the whole commit held in memory against kept on
disk (what GitRemote does past IN_MEMORY_PACK_LIMIT).
"""

from __future__ import annotations

import argparse
import io
import logging
import multiprocessing
import os
import re
import resource
import statistics
import subprocess
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from dulwich import porcelain
from dulwich.objects import Blob, Commit, ObjectID, ShaFile, Tree
from dulwich.refs import HEADREF, local_branch_name
from dulwich.repo import Repo

from promotions.git import Author, CommitOutcome, GitRemote, Snapshot
from promotions.git.spilling_store import IN_MEMORY_PACK_LIMIT
from promotions_local.git_server import GitHttpBackendServer, create_bare_repository

AUTHOR = Author("Benchmark", "bench@localhost")
BRANCH = "main"
ENVIRONMENTS = ("dev", "qa", "staging", "prod")
MANIFESTS = (
    "values.yaml",
    "configmap.yaml",
    "deployment.yaml",
    "hpa.yaml",
    "ingress.yaml",
    "kustomization.yaml",
    "networkpolicy.yaml",
    "pdb.yaml",
    "service.yaml",
    "serviceaccount.yaml",
)
FILES_PER_APP = len(ENVIRONMENTS) * len(MANIFESTS)
TAG_LINE = re.compile(rb'^  tag: "[^"]*"$', re.MULTILINE)
FILE_MODE = 0o100644
DIRECTORY_MODE = 0o040000
MIB = 1024 * 1024
GNU_TIME = "/usr/bin/time"


# ---------------------------------------------------------------------------------------------------------
# Fixtures


def app_name(app: int) -> str:
    return f"app-{app:04d}"


def values_yaml(app: int, environment: str, tag: str) -> bytes:
    return (
        f"image:\n"
        f"  repository: registry.example.com/platform/{app_name(app)}\n"
        f'  tag: "{tag}"\n'
        f"replicaCount: {1 + app % 5}\n"
        f"environment: {environment}\n"
        f"resources:\n  requests:\n    cpu: {50 + app % 200}m\n    memory: {64 + app % 448}Mi\n"
        f"ingress:\n  host: {app_name(app)}.{environment}.example.com\n"
    ).encode()


def manifest(app: int, environment: str, kind: str) -> bytes:
    name = app_name(app)
    lines = [
        f"# {kind} of {name} in {environment}",
        "apiVersion: v1",
        f"kind: {kind.removesuffix('.yaml').capitalize()}",
        "metadata:",
        f"  name: {name}",
        f"  namespace: {environment}",
        "  labels:",
        f"    app.kubernetes.io/name: {name}",
        f"    app.kubernetes.io/instance: {name}-{environment}",
        "    app.kubernetes.io/part-of: platform",
        "spec:",
        *(f"  setting{index}: {name}-{environment}-{index * (app + 7) % 9973}" for index in range(12)),
    ]
    return ("\n".join(lines) + "\n").encode()


@dataclass(frozen=True)
class Fixture:
    label: str
    name: str
    files: int
    history: int

    @property
    def apps(self) -> int:
        return -(-self.files // FILES_PER_APP)

    @property
    def target_app(self) -> int:
        return self.apps // 2

    @property
    def target(self) -> str:
        return f"apps/{app_name(self.target_app)}/prod/values.yaml"


class _FixtureBuilder:
    """The trees of the layout, kept as mutable dulwich Trees; `snapshot` copies those that changed."""

    def __init__(self, files: int) -> None:
        self.objects: list[ShaFile] = []
        self.env_trees: dict[tuple[int, str], Tree] = {}
        self.app_trees: dict[int, Tree] = {}
        self.apps_tree = Tree()
        self.root = Tree()
        count = 0
        for app in range(-(-files // FILES_PER_APP)):
            for environment in ENVIRONMENTS:
                for kind in MANIFESTS:
                    if count == files:
                        break
                    content = (
                        values_yaml(app, environment, "1.0.0")
                        if kind == "values.yaml"
                        else manifest(app, environment, kind)
                    )
                    blob = Blob.from_string(content)
                    self.objects.append(blob)
                    self.env_trees.setdefault((app, environment), Tree()).add(
                        kind.encode(), FILE_MODE, blob.id
                    )
                    count += 1
        for (app, environment), tree in self.env_trees.items():
            self.objects.append(tree.copy())
            self.app_trees.setdefault(app, Tree()).add(environment.encode(), DIRECTORY_MODE, tree.id)
        for app, tree in self.app_trees.items():
            self.objects.append(tree.copy())
            self.apps_tree.add(app_name(app).encode(), DIRECTORY_MODE, tree.id)
        self.objects.append(self.apps_tree.copy())
        self.root.add(b"apps", DIRECTORY_MODE, self.apps_tree.id)
        self.root.add(b"README.md", FILE_MODE, self._blob(b"# GitOps repository\n").id)
        self.objects.append(self.root.copy())

    def _blob(self, content: bytes) -> Blob:
        blob = Blob.from_string(content)
        self.objects.append(blob)
        return blob

    def promote(self, app: int, environment: str, tag: str) -> None:
        """Change one values.yaml and every tree above it."""
        blob = self._blob(values_yaml(app, environment, tag))
        env_tree = self.env_trees[(app, environment)]
        env_tree[b"values.yaml"] = (FILE_MODE, blob.id)
        app_tree = self.app_trees[app]
        app_tree[environment.encode()] = (DIRECTORY_MODE, env_tree.id)
        self.apps_tree[app_name(app).encode()] = (DIRECTORY_MODE, app_tree.id)
        self.root[b"apps"] = (DIRECTORY_MODE, self.apps_tree.id)
        self.objects.extend(tree.copy() for tree in (env_tree, app_tree, self.apps_tree, self.root))

    def commit(self, parent: ObjectID | None, message: str, when: int) -> Commit:
        commit = Commit()
        commit.tree = self.root.id
        commit.parents = [parent] if parent else []
        commit.author = commit.committer = AUTHOR.identity
        commit.author_time = commit.commit_time = when
        commit.author_timezone = commit.commit_timezone = 0
        commit.message = f"{message}\n".encode()
        self.objects.append(commit)
        return commit


def build_fixture(root: Path, fixture: Fixture) -> None:
    """A bare repository of `fixture.files` files and `fixture.history` promotions after the first commit,
    written as one pack (dulwich objects, no git process per commit), then delta-compressed by `git repack`
    as a hosted repository would be."""
    builder = _FixtureBuilder(fixture.files)
    started = int(time.time()) - fixture.history - 1
    tip = builder.commit(None, "Initial layout", started)
    for number in range(fixture.history):
        app = number * 7919 % fixture.apps
        environment = ENVIRONMENTS[number % len(ENVIRONMENTS)]
        if (app, environment) not in builder.env_trees:
            continue
        builder.promote(app, environment, f"1.{number // 1000}.{number % 1000}")
        tip = builder.commit(tip.id, f"Promote {app_name(app)} to {environment}", started + number + 1)
    path = root / fixture.name
    repo = Repo.init_bare(str(path), mkdir=True)
    with repo:
        repo.object_store.add_objects([(obj, None) for obj in builder.objects])
        branch_ref = local_branch_name(BRANCH.encode())
        repo.refs[branch_ref] = tip.id
        repo.refs.set_symbolic_ref(HEADREF, branch_ref)
    subprocess.run(
        ["git", "-C", str(path), "repack", "-a", "-d", "-q"], check=True, env=git_environment(root)
    )


def git_environment(home: Path) -> dict[str, str]:
    """An environment where no configuration of the machine's user reaches git."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_AUTHOR_NAME": AUTHOR.name,
        "GIT_AUTHOR_EMAIL": AUTHOR.email,
        "GIT_COMMITTER_NAME": AUTHOR.name,
        "GIT_COMMITTER_EMAIL": AUTHOR.email,
        "GIT_TERMINAL_PROMPT": "0",
    }


# ---------------------------------------------------------------------------------------------------------
# The server, in a child process


def serve(root: str, connection: Connection, allow_filter: bool) -> None:
    """Serve `root` with git http-backend until told to stop; answer "counters" with (requests, bytes sent,
    CPU seconds of the server and the git processes it ran)."""
    with GitHttpBackendServer(Path(root), allow_filter=allow_filter) as server:
        connection.send(server.base_url)
        while (command := connection.recv()) != "stop":
            assert command == "counters", command
            cpu = sum(
                usage.ru_utime + usage.ru_stime
                for usage in (
                    resource.getrusage(resource.RUSAGE_SELF),
                    resource.getrusage(resource.RUSAGE_CHILDREN),
                )
            )
            connection.send((server.requests_served, server.bytes_sent, cpu))


class ServerProcess:
    def __init__(self, root: Path, *, allow_filter: bool = True) -> None:
        self._connection, child_end = multiprocessing.get_context("spawn").Pipe()
        self._process = multiprocessing.get_context("spawn").Process(
            target=serve, args=(str(root), child_end, allow_filter), daemon=True
        )
        self._process.start()
        self.base_url: str = self._connection.recv()
        self._lock = threading.Lock()

    def url_for(self, name: str) -> str:
        return f"{self.base_url}/{name}"

    def counters(self) -> tuple[int, int, float]:
        with self._lock:
            self._connection.send("counters")
            return self._connection.recv()

    def stop(self) -> None:
        self._connection.send("stop")
        self._process.join()


# ---------------------------------------------------------------------------------------------------------
# Measuring


@dataclass
class Measure:
    seconds: float
    requests: int = 0
    bytes_received: int = 0
    server_cpu_seconds: float = 0.0


class _FetchPathLog(logging.Handler):
    """Which fetch path the engine took, as it logged it."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.paths: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        for pattern in (r"partial clone \(filter [^)]+\)", r"full tree fetched", r"filter \S+ refused"):
            found = re.search(pattern, message)
            if found:
                self.paths.append(found.group(0))


@contextmanager
def counted(server: ServerProcess) -> Iterator[Measure]:
    measure = Measure(0.0)
    requests, sent, cpu = server.counters()
    started = time.perf_counter()
    yield measure
    measure.seconds = time.perf_counter() - started
    after_requests, after_sent, after_cpu = server.counters()
    measure.requests, measure.bytes_received = after_requests - requests, after_sent - sent
    measure.server_cpu_seconds = after_cpu - cpu


def traced_peak(action: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def bump(tags: Iterator[int]) -> Callable[[bytes], bytes]:
    """An edit setting the image tag of a values.yaml to the next of `tags`, as a promotion does."""

    def edit(content: bytes) -> bytes:
        new, count = TAG_LINE.subn(f'  tag: "2.0.{next(tags)}"'.encode(), content, count=1)
        if count != 1:
            raise ValueError("the values file has no image tag line")
        return new

    return edit


def ours(
    url: str,
    target: str,
    edit: Callable[[bytes], bytes],
    *,
    max_attempts: int = 8,
    in_memory_pack_limit: int = IN_MEMORY_PACK_LIMIT,
) -> CommitOutcome:
    def edits(snapshot: Snapshot) -> dict[str, bytes | None]:
        current = snapshot.read(target)
        if current is None:
            raise ValueError(f"{target} is missing")
        return {target: edit(current)}

    remote = GitRemote(url, in_memory_pack_limit=in_memory_pack_limit)
    outcome = remote.commit(
        BRANCH, edits, f"Promote {target}", AUTHOR, prefetch=[target], max_attempts=max_attempts
    )
    if outcome.commit_sha is None:
        raise RuntimeError("the promotion changed nothing")
    return outcome


def dulwich_full_clone(url: str, target: str, edit: Callable[[bytes], bytes], scratch: Path) -> None:
    work = Path(tempfile.mkdtemp(dir=scratch))
    quiet = io.BytesIO()
    with porcelain.clone(url, str(work), checkout=True, errstream=quiet) as repo:
        file = work / target
        file.write_bytes(edit(file.read_bytes()))
        porcelain.add(repo, [str(file)])
        porcelain.commit(repo, message=f"Promote {target}", author=AUTHOR.identity, committer=AUTHOR.identity)
        porcelain.push(repo, url, f"refs/heads/{BRANCH}", outstream=quiet, errstream=quiet)


def git_cli(url: str, target: str, tag: int, scratch: Path) -> int:
    """Run the git CLI path in one shell under GNU time; return the max RSS in bytes of the shell and the git
    processes it ran.

    Not wait4 or RUSAGE_CHILDREN of a child of this process: Linux carries the parent's RSS high-water mark
    over fork and exec into the child's max RSS, which would report this interpreter's size instead.
    """
    work = Path(tempfile.mkdtemp(dir=scratch))
    script = f"""set -e
git clone --quiet --depth 1 --filter=blob:none --sparse "{url}" repo
cd repo
git sparse-checkout set --no-cone "/{target}"
sed -i 's/^  tag: .*/  tag: "3.0.{tag}"/' "{target}"
git commit --quiet -am "Promote {target}"
git push --quiet origin HEAD:{BRANCH}
"""
    rss_file = work / "max-rss-kib"
    completed = subprocess.run(
        [GNU_TIME, "--format=%M", f"--output={rss_file}", "sh", "-c", script],
        cwd=work,
        env=git_environment(work),
        capture_output=True,
        check=False,
    )
    if completed.returncode:
        raise RuntimeError(f"git CLI path failed: {completed.stderr.decode(errors='replace')}")
    return int(rss_file.read_text().split()[-1]) * 1024


@dataclass
class PathResult:
    """Runs of one path on one fixture: median time, the requests and bytes of the last run, peak memory."""

    name: str
    runs: list[Measure]
    peak_bytes: int
    memory_measure: str

    @property
    def seconds(self) -> float:
        return statistics.median(run.seconds for run in self.runs)

    @property
    def requests(self) -> int:
        return self.runs[-1].requests

    @property
    def bytes_received(self) -> int:
        return self.runs[-1].bytes_received


def timed_runs(server: ServerProcess, runs: int, *actions: Callable[[], object]) -> list[list[Measure]]:
    """`runs` timed runs of each action, taking turns, so that a change of load on the machine during the
    benchmark weighs on all of them alike."""
    measures: list[list[Measure]] = [[] for _action in actions]
    for _run in range(runs):
        for action, action_measures in zip(actions, measures, strict=True):
            with counted(server) as measure:
                action()
            action_measures.append(measure)
    return measures


def bench_fixture(
    server: ServerProcess, fixture: Fixture, arguments: argparse.Namespace, scratch: Path
) -> None:
    url = server.url_for(fixture.name)
    tags = iter(range(1_000_000))

    def promote() -> None:
        ours(url, fixture.target, bump(tags))

    cli_peaks: list[int] = []

    def promote_with_git() -> None:
        cli_peaks.append(git_cli(url, fixture.target, next(tags), scratch))

    def promote_after_full_clone() -> None:
        dulwich_full_clone(url, fixture.target, bump(tags), scratch)

    fetch_paths = _FetchPathLog()
    engine_log = logging.getLogger("promotions.git")
    engine_log.addHandler(fetch_paths)
    engine_log.setLevel(logging.INFO)
    try:
        ours_runs, cli_runs = timed_runs(server, arguments.repeat, promote, promote_with_git)
        results = [PathResult("ours: GitRemote.commit", ours_runs, traced_peak(promote), "tracemalloc")]
    finally:
        engine_log.removeHandler(fetch_paths)
    if not arguments.skip_full_clone:
        [full_runs] = timed_runs(server, arguments.baseline_repeat, promote_after_full_clone)
        results.append(
            PathResult(
                "dulwich full clone+commit+push",
                full_runs,
                traced_peak(promote_after_full_clone),
                "tracemalloc",
            )
        )
    results.append(
        PathResult("git clone --depth 1 --filter=blob:none --sparse", cli_runs, max(cli_peaks), "max RSS")
    )

    history = f", {fixture.history:,} commits of history" if fixture.history else ""
    print(f"\n== {fixture.label}: {fixture.files:,} files{history}; editing {fixture.target}")
    print(f"   our fetch path: {', '.join(sorted(set(fetch_paths.paths))) or 'unknown'}")
    ours_result = results[0]
    print_table(
        f"   {'path':<48} {'time ms':>9} {'x ours':>7} {'peak MiB':>9} {'measured by':<12} "
        f"{'received KiB':>13} {'x ours':>8} {'requests':>8}",
        (
            f"   {result.name:<48} {result.seconds * 1000:9.1f} {result.seconds / ours_result.seconds:6.1f}x "
            f"{result.peak_bytes / MIB:9.2f} {result.memory_measure:<12} {result.bytes_received / 1024:13.1f} "
            f"{result.bytes_received / ours_result.bytes_received:7.1f}x {result.requests:8d}"
            for result in results
        ),
    )


def print_table(header: str, rows: Iterable[str]) -> None:
    print(header)
    print("   " + "-" * (len(header) - 3))
    for row in rows:
        print(row)


def build_binary_fixture(root: Path, name: str, mib: int) -> str:
    """A repository of `mib` MiB of files that do not compress, and one values.yaml; return its path."""
    target = f"apps/{app_name(0)}/prod/values.yaml"
    files = {f"assets/blob-{number:05d}.bin": os.urandom(256 * 1024) for number in range(mib * 4)}
    files[target] = values_yaml(0, "prod", "1.0.0")
    create_bare_repository(root / name, files)
    return target


def bench_without_filters(server: ServerProcess, label: str, repository: str, target: str, runs: int) -> None:
    """Our path against a host that allows no partial-clone filter (Bitbucket Cloud): the whole commit comes,
    held in memory, or kept on disk as it is past IN_MEMORY_PACK_LIMIT."""
    url = server.url_for(repository)
    tags = iter(range(2_000_000, 3_000_000))

    def in_memory() -> None:
        ours(url, target, bump(tags), in_memory_pack_limit=2**40)

    def on_disk() -> None:
        ours(url, target, bump(tags), in_memory_pack_limit=0)

    memory_runs, disk_runs = timed_runs(server, runs, in_memory, on_disk)
    results = [
        PathResult("ours, the commit's objects in memory", memory_runs, traced_peak(in_memory), ""),
        PathResult("ours, the commit's pack kept on disk", disk_runs, traced_peak(on_disk), ""),
    ]
    print(f"\n== a host without partial-clone filters ({label}); editing {target}")
    print_table(
        f"   {'path':<48} {'time ms':>9} {'peak MiB':>9} {'x on disk':>9} {'received KiB':>13} {'requests':>8}",
        (
            f"   {result.name:<48} {result.seconds * 1000:9.1f} {result.peak_bytes / MIB:9.2f} "
            f"{result.peak_bytes / results[1].peak_bytes:8.1f}x {result.bytes_received / 1024:13.1f} "
            f"{result.requests:8d}"
            for result in results
        ),
    )


def bench_concurrency(server: ServerProcess, fixture: Fixture, promotions: int) -> None:
    """`promotions` promotions of distinct apps to one branch: all at once in threads, then one by one."""
    url = server.url_for(fixture.name)
    targets = [f"apps/{app_name(app)}/dev/values.yaml" for app in range(min(promotions, fixture.apps))]
    if len(targets) < promotions:
        raise SystemExit(f"--concurrent {promotions} needs {promotions} apps; the fixture has {fixture.apps}")
    tags = iter(range(10_000, 1_000_000))

    def promote(target: str, outcomes: list[int]) -> None:
        # Enough attempts for every writer to land, however often it loses the race.
        outcomes.append(ours(url, target, bump(tags), max_attempts=promotions * 2).attempts)

    concurrent_attempts: list[int] = []
    barrier = threading.Barrier(promotions)

    def at_once(target: str) -> None:
        barrier.wait()
        promote(target, concurrent_attempts)

    threads = [threading.Thread(target=at_once, args=(target,)) for target in targets]
    with counted(server) as concurrent:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    landed = GitRemote(url).snapshot(BRANCH, targets)
    missing = [target for target in targets if b'tag: "2.0.' not in (landed.read(target) or b"")]

    sequential_attempts: list[int] = []
    with counted(server) as sequential:
        for target in targets:
            promote(target, sequential_attempts)

    print(f"\n== {promotions} promotions of distinct apps to one branch ({fixture.label})")
    for label, measure, attempts in (
        ("concurrent", concurrent, concurrent_attempts),
        ("sequential", sequential, sequential_attempts),
    ):
        print(
            f"   {label}: {len(attempts)} landed in {measure.seconds:6.2f} s; attempts mean "
            f"{statistics.mean(attempts):4.1f}, max {max(attempts):3d}; {measure.requests / promotions:5.1f} "
            f"requests per promotion; server CPU {measure.server_cpu_seconds:5.1f} s"
        )
    print(f"   edits missing from the tip after the concurrent run: {len(missing)}")
    print(f"   concurrent / sequential time: {concurrent.seconds / sequential.seconds:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small-files", type=int, default=100)
    parser.add_argument("--large-files", type=int, default=10_000)
    parser.add_argument("--history", type=int, default=5_000, help="commits on top of the large fixture")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs of our path and of the git CLI")
    parser.add_argument("--baseline-repeat", type=int, default=1, help="timed runs of the dulwich full clone")
    parser.add_argument("--concurrent", type=int, default=50, help="promotions at once to one branch")
    parser.add_argument("--skip-full-clone", action="store_true")
    parser.add_argument(
        "--binary-mib", type=int, default=150, help="MiB fetched whole from a host without filters; 0 to skip"
    )
    arguments = parser.parse_args()
    if not Path(GNU_TIME).is_file():
        parser.error(f"the git CLI path's memory is measured with GNU time, expected at {GNU_TIME}")
    for flag in ("small_files", "large_files"):
        if getattr(arguments, flag) < FILES_PER_APP:
            parser.error(f"--{flag.replace('_', '-')} must be at least {FILES_PER_APP}, one app's files")

    fixtures = [
        Fixture("small", "small.git", arguments.small_files, 0),
        Fixture("large", "large.git", arguments.large_files, 0),
        Fixture("large with history", "history.git", arguments.large_files, arguments.history),
    ]
    with tempfile.TemporaryDirectory(prefix="git-bench-") as directory:
        root = Path(directory) / "repos"
        scratch = Path(directory) / "work"
        root.mkdir()
        scratch.mkdir()
        for fixture in fixtures:
            started = time.perf_counter()
            build_fixture(root, fixture)
            print(f"built {fixture.name} in {time.perf_counter() - started:.1f} s", flush=True)
        server = ServerProcess(root)
        try:
            load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
            print(
                f"machine: {os.cpu_count()} CPUs, load average {load}; server: git http-backend (protocol v2)"
            )
            for fixture in fixtures:
                bench_fixture(server, fixture, arguments, scratch)
            bench_concurrency(server, fixtures[1], arguments.concurrent)
        finally:
            server.stop()
        large = fixtures[1]
        binary = []
        if arguments.binary_mib:
            binary_target = build_binary_fixture(root, "binary.git", arguments.binary_mib)
            binary.append((f"{arguments.binary_mib} MiB of binary files", "binary.git", binary_target, 1))
        server = ServerProcess(root, allow_filter=False)
        try:
            for label, repository, target, runs in [
                (f"{large.label}: {large.files:,} files", large.name, large.target, arguments.repeat),
                *binary,
            ]:
                bench_without_filters(server, label, repository, target, runs)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
