"""The `promotions` command."""

from __future__ import annotations

import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from promotions.config import ConfigError
from promotions.sources import EventError
from promotions_local import client_commands, validate_command

app = typer.Typer(
    help="GitOps promotions: validate configuration and run promotions on this machine.", no_args_is_help=True
)
local_app = typer.Typer(help="Run the engine on this machine: no AWS account needed.", no_args_is_help=True)
app.add_typer(local_app, name="local")
# Client verbs: they speak to the HTTP API.
app.add_typer(client_commands.release_app, name="release")
app.add_typer(client_commands.product_app, name="product")
app.command()(client_commands.trigger)
app.command()(client_commands.promote)
app.command()(client_commands.retry)
app.command()(client_commands.rollback)
app.command()(client_commands.approve)
app.command()(client_commands.reject)


@app.command()
def validate(
    config_dir: Annotated[
        Path, typer.Argument(help="Folder of configuration YAML.", exists=True, file_okay=False)
    ],
) -> None:
    """Load and cross-check a configuration; print FILE:LINE: message for each problem."""
    raise typer.Exit(validate_command.validate(config_dir))


@app.command()
def evaluate(
    config: Annotated[
        Path, typer.Option("--config", help="Folder of configuration YAML.", exists=True, file_okay=False)
    ],
    product: Annotated[str, typer.Option("--product", help="The product to evaluate.")],
    environment: Annotated[str | None, typer.Option("--environment", help="Only this environment.")] = None,
) -> None:
    """Per environment: the merged policy, who set each field, and the file edits a promotion would make (a dry run)."""
    from promotions_local.evaluate_command import evaluate as evaluate_product

    try:
        raise typer.Exit(evaluate_product(Console(), config, product, environment))
    except ConfigError as error:
        for problem in error.problems:
            typer.echo(str(problem), err=True)
        raise typer.Exit(1) from error


@app.command()
def demo(
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the release.")] = 300,
) -> None:
    """Promote a sample product dev → (qa, staging) → prod on the embedded stack, live."""
    from promotions_local.demo import run_demo

    # In a terminal the stack stays up for the dashboard until Ctrl-C; scripts and CI get the run alone.
    in_terminal = sys.stdin.isatty() and sys.stdout.isatty()
    raise typer.Exit(run_demo(Console(file=sys.stdout), timeout=timeout, keep_serving=in_terminal))


@local_app.command("run")
def local_run(
    config: Annotated[
        Path, typer.Option("--config", help="Folder of configuration YAML.", exists=True, file_okay=False)
    ],
    github_push: Annotated[
        list[Path],
        typer.Option(
            "--github-push",
            help="A GitHub push webhook payload (JSON); repeatable.",
            exists=True,
            dir_okay=False,
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")] = False,
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for the pushes to be ingested and the releases to settle.")
    ] = 600,
    approve: Annotated[
        list[str] | None,
        typer.Option(
            "--approve",
            metavar="ENV=USER",
            help="When ENV waits for an approval, click Approve in Slack as the Slack user USER (an ID such as "
            "U012AB3CD), through the signed callback; repeatable.",
        ),
    ] = None,
    reject: Annotated[
        list[str] | None,
        typer.Option("--reject", metavar="ENV=USER", help="The same, clicking Reject; repeatable."),
    ] = None,
) -> None:
    """Run the engine with your configuration on the pushes you give, until every release settles (or waits
    for people who were not told to click)."""
    from promotions_local.session import EventRejected, LocalPromotions, release_document
    from promotions_local.slack_server import Click, Clicker, SlackStandIn

    try:
        clicks = [Click.parse(text, "approve") for text in approve or ()]
        clicks += [Click.parse(text, "reject") for text in reject or ()]
    except ValueError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from error
    # Approval messages go to a Slack stand-in, whose people are those named to click.
    slack = SlackStandIn(users={click.user: (click.user, "") for click in clicks})

    payloads = []
    for path in github_push:
        try:
            payloads.append(json.loads(path.read_text()))
        except ValueError as error:
            typer.echo(f"{path}: not JSON: {error}", err=True)
            raise typer.Exit(2) from error
    document_stream = sys.stdout
    deadline = time.monotonic() + timeout
    try:
        # The functions write their logs and metrics to stdout, as Lambda wants; here stdout is the answer.
        with contextlib.redirect_stdout(sys.stderr), slack, LocalPromotions(config, slack=slack) as local:
            for path, payload in zip(github_push, payloads, strict=True):
                try:
                    local.submit_github_push(payload)
                except EventError as error:
                    typer.echo(f"{path}: {error}", err=True)
                    raise typer.Exit(2) from error
            local.process_events(timeout=timeout)
            releases = local.wait_until_settled(timeout=max(0.0, deadline - time.monotonic()))
            clicker = Clicker(slack, clicks)
            while clicked := clicker.click_waiting(releases):
                for line in clicked:
                    typer.echo(line, err=True)
                releases = local.wait_until_settled(timeout=max(0.0, deadline - time.monotonic()))
    except ConfigError as error:
        for problem in error.problems:
            typer.echo(str(problem), err=True)
        raise typer.Exit(1) from error
    except EventRejected as error:
        typer.echo(f"event rejected: {error}", err=True)
        raise typer.Exit(2) from error
    except TimeoutError as error:
        typer.echo(f"timed out (--timeout {timeout:g}): {error}", err=True)
        raise typer.Exit(3) from error
    document = release_document(releases)
    if as_json:
        document_stream.write(json.dumps(document) + "\n")
    else:
        from promotions_local.views import release_table

        console = Console()
        if not releases:
            console.print("No release started: no product flow matched the pushes.")
        for release in releases:
            console.print(release_table(release))


@local_app.command("up")
def local_up(
    config: Annotated[
        Path, typer.Option("--config", help="Folder of configuration YAML.", exists=True, file_okay=False)
    ],
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port on 127.0.0.1; 0 takes a free one.")
    ] = 8080,
    token: Annotated[
        str | None, typer.Option(help="Bearer token the API asks for; generated when not given.")
    ] = None,
    webhook_secret: Annotated[
        str | None,
        typer.Option(
            help="Secret webhook deliveries are signed with (GitLab's token); generated when not given."
        ),
    ] = None,
    slack_signing_secret: Annotated[
        str | None,
        typer.Option(help="Signing secret of requests to /slack/interactions; generated when not given."),
    ] = None,
    fast_forward: Annotated[
        bool,
        typer.Option(
            "--fast-forward",
            help="Move the clock through waits (a soak time passes at once), as the demo does.",
        ),
    ] = False,
) -> None:
    """Serve the HTTP API (/api/v1), the webhook routes (/webhooks/PROVIDER) and Slack's callback
    (/slack/interactions) on 127.0.0.1 on the embedded stack, in real time, until Ctrl-C."""
    from promotions_local.local_up import Credentials, serve

    try:
        credentials = Credentials.given_or_generated(token, webhook_secret, slack_signing_secret)
    except ValueError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from error
    terminal = sys.stdout

    def announce(line: str) -> None:
        print(line, file=terminal, flush=True)

    try:
        # The functions write their logs to stdout, as Lambda wants; here stdout is for the lines above.
        with contextlib.redirect_stdout(sys.stderr):
            serve(config, credentials, port=port, fast_forward=fast_forward, announce=announce)
    except ConfigError as error:
        for problem in error.problems:
            typer.echo(str(problem), err=True)
        raise typer.Exit(1) from error
    except OSError as error:
        typer.echo(f"cannot serve on 127.0.0.1:{port}: {error.strerror or error}", err=True)
        raise typer.Exit(1) from error


if __name__ == "__main__":
    app()
