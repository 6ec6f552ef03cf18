"""`promotions demo`: a real promotion of the sample product, on this machine, shown live."""

from __future__ import annotations

import contextlib
import functools
import secrets
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
from promotions.release.model import Release
from promotions.release.status import EnvironmentStatus, ReleaseStatus
from promotions_local.api_server import ApiServer
from promotions_local.git_server import create_bare_repository, serve_repositories
from promotions_local.github_payloads import push_and_describe
from promotions_local.local_up import signed_in_dashboard_url, wait_for_interrupt
from promotions_local.session import LocalPromotions
from promotions_local.slack_server import Click, Clicker, SlackStandIn
from promotions_local.views import release_table

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo"
PLACEHOLDER_URL = "https://git.example.invalid/demo/gitops.git"
OLD_VERSION, NEW_VERSION = "1.4.0", "1.5.0"
DEVELOPER = Author(name="Dana Developer", email="dana@example.invalid")
# Who approves prod in the demo's Slack (examples/demo/approvals.yaml lists them).
APPROVER = "U0ALEX001"


def run_demo(console: Console, *, timeout: float, keep_serving: bool = False) -> int:
    """`keep_serving`: once the release is shown, keep the stack up behind its dashboard until Ctrl-C."""
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
        slack = SlackStandIn(users={APPROVER: ("alex", "alex@example.invalid")})
        with serve_repositories(repos) as server, slack:
            gitops_url = server.url_for("gitops.git")
            console.print(f"GitOps repository: {gitops_url} (served by {type(server).__name__})")
            config_dir = write_demo_configuration(workspace / "config", gitops_url)
            shutil.copy(DEMO / "approvals.yaml", config_dir / "approvals.yaml")
            # The functions log and publish metrics on stdout, as Lambda wants; here they go to a file.
            log_path = Path(tempfile.gettempdir()) / "promotions-demo.log"
            with log_path.open("w") as log, contextlib.redirect_stdout(log):
                with console.status("Starting the embedded stack (moto, template.yaml, the real handlers)…"):
                    local = LocalPromotions(config_dir, slack=slack).__enter__()
                try:
                    push = _push_new_version(gitops_url)
                    console.print(
                        f"Pushed [bold]{NEW_VERSION}[/] to dev as {push['after'][:12]}: {push['head_commit']['message']}"
                    )
                    local.submit_github_push(push)
                    local.process_events()
                    clicker = Clicker(slack, [Click("prod", APPROVER, "approve")])
                    with Live(console=console, refresh_per_second=8, transient=False) as live:

                        def show(releases: list) -> None:
                            live.update(
                                Group(*map(release_table, releases))
                                if releases
                                else "waiting for the release…"
                            )

                        releases = local.wait_until_settled(timeout=timeout, on_progress=show)
                        if _waits_for_approval(releases):
                            _show_approval_message(live.console, slack)
                        clicked = clicker.click_waiting(releases)
                        for line in clicked:
                            live.console.print(f"Slack: {line}")
                        if clicked:
                            releases = local.wait_until_settled(timeout=timeout, on_progress=show)
                    console.print()
                    console.print(_history(repos / "gitops.git"))
                    for release in releases:
                        approvals = [
                            line
                            for line in (release.environment("prod").commit_message or "").splitlines()
                            if line.startswith("Promotion-Approved-By:")
                        ]
                        console.print(
                            f"prod's commit names who approved it: {'; '.join(approvals) or 'nobody'}"
                        )
                    console.print(f"The functions' logs: {log_path}")
                    if keep_serving:
                        _serve_dashboard(local, console)
                finally:
                    local.__exit__(None, None, None)
            return 0 if releases and all(r.status is ReleaseStatus.SUCCEEDED for r in releases) else 1


def _serve_dashboard(local: LocalPromotions, console: Console) -> None:
    """The API and its dashboard on loopback, over the demo's stack, until Ctrl-C."""
    assert local.stack is not None
    token = secrets.token_urlsafe(24)
    with ApiServer(functools.partial(local.stack.invoke, "ApiFunction"), token) as api:
        console.print(f"API: {api.base_url} (token {token})")
        console.print("The stack stays up for the dashboard until Ctrl-C.")
        console.print(f"Dashboard: {signed_in_dashboard_url(api.base_url, token)}", soft_wrap=True)
        wait_for_interrupt()


def _waits_for_approval(releases: list[Release]) -> bool:
    return any(
        run.status is EnvironmentStatus.SUSPENDED for release in releases for run in release.environments
    )


def _show_approval_message(console: Console, slack: SlackStandIn) -> None:
    message = slack.message_for("prod")
    console.print(f"Slack #{message.channel}: prod waits for an approval, and the message reads")
    console.print(message.text)


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
