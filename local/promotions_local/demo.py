"""`promotions demo`: a real promotion of the sample product, on this machine, shown live."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from dulwich.refs import local_branch_name
from dulwich.repo import Repo
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from promotions.git import Author
from promotions.release.status import ReleaseStatus
from promotions_local.git_server import create_bare_repository, serve_repositories
from promotions_local.github_payloads import push_and_describe
from promotions_local.session import LocalPromotions
from promotions_local.views import release_table

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo"
PLACEHOLDER_URL = "https://git.example.invalid/demo/gitops.git"
OLD_VERSION, NEW_VERSION = "1.4.0", "1.5.0"
DEVELOPER = Author(name="Dana Developer", email="dana@example.invalid")


def run_demo(console: Console, *, timeout: float) -> int:
    if not DEMO.is_dir():
        console.print(
            f"[red]the demo data is missing: expected {DEMO.relative_to(DEMO.parents[2])} in the repository[/]"
        )
        return 1
    with tempfile.TemporaryDirectory(prefix="promotions-demo-") as scratch:
        workspace = Path(scratch)
        repos = workspace / "repos"
        repos.mkdir()
        create_demo_repository(repos / "gitops.git")
        with serve_repositories(repos) as server:
            gitops_url = server.url_for("gitops.git")
            console.print(f"GitOps repository: {gitops_url} (served by {type(server).__name__})")
            config_dir = write_demo_configuration(workspace / "config", gitops_url)
            # The functions log and publish metrics on stdout, as Lambda wants; here they go to a file.
            log_path = Path(tempfile.gettempdir()) / "promotions-demo.log"
            with log_path.open("w") as log, contextlib.redirect_stdout(log):
                with console.status("Starting the embedded stack (moto, template.yaml, the real handlers)…"):
                    local = LocalPromotions(config_dir).__enter__()
                try:
                    push = _push_new_version(gitops_url)
                    console.print(
                        f"Pushed [bold]{NEW_VERSION}[/] to dev as {push['after'][:12]}: {push['head_commit']['message']}"
                    )
                    local.submit_github_push(push)
                    local.process_events()
                    with Live(console=console, refresh_per_second=8, transient=False) as live:
                        releases = local.wait_until_settled(
                            timeout=timeout,
                            on_progress=lambda rs: live.update(
                                Group(*map(release_table, rs)) if rs else "waiting for the release…"
                            ),
                        )
                finally:
                    local.__exit__(None, None, None)
            console.print()
            console.print(_history(repos / "gitops.git"))
            console.print(f"The functions' logs: {log_path}")
            return 0 if releases and all(r.status is ReleaseStatus.SUCCEEDED for r in releases) else 1


def create_demo_repository(path: Path) -> None:
    """The sample GitOps repository (examples/demo/gitops) as a bare repository at `path`."""
    files = {
        file.relative_to(DEMO / "gitops").as_posix(): file.read_bytes()
        for file in sorted((DEMO / "gitops").rglob("*"))
        if file.is_file()
    }
    create_bare_repository(path, files, message="GitOps repository for the guestbook product")


def write_demo_configuration(
    destination: Path, gitops_url: str, edit: Callable[[str, str], str] | None = None
) -> Path:
    """The sample configuration at `destination`, its Applications pointing at `gitops_url`;
    `edit(text, filename)` may rewrite any file on the way."""
    if destination.exists():
        shutil.rmtree(destination)
    shutil.copytree(DEMO / "config", destination)
    for path in destination.rglob("*.yaml"):
        text = path.read_text().replace(PLACEHOLDER_URL, gitops_url)
        path.write_text(edit(text, path.name) if edit else text)
    return destination


def _push_new_version(gitops_url: str) -> dict:
    """A developer bumps dev to the new version: the push that starts the release."""
    dev_files = [f"apps/{app}/dev/{name}" for app in ("api", "web") for name in ("Chart.yaml", "values.yaml")]

    def bump(tip):
        edits = {}
        for path in dev_files:
            text = tip.read(path).decode()
            text = text.replace(f'"{OLD_VERSION}"', f'"{NEW_VERSION}"').replace(
                "newCheckout: false", "newCheckout: true"
            )
            edits[path] = text.encode()
        return edits

    return push_and_describe(gitops_url, "main", bump, f"Release guestbook {NEW_VERSION} to dev", DEVELOPER)


def _history(bare_repo: Path) -> Table:
    """The commits on the GitOps repository, newest first: what the promotion wrote."""
    table = Table(title="Commits on the GitOps repository (main)")
    table.add_column("commit")
    table.add_column("author")
    table.add_column("message")
    with Repo(str(bare_repo)) as repo:
        for entry in repo.get_walker(include=[repo.refs[local_branch_name(b"main")]]):
            commit = entry.commit
            table.add_row(
                commit.id.decode()[:12],
                commit.author.decode().split(" <")[0],
                commit.message.decode().splitlines()[0],
            )
    return table
