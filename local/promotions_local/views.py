"""How releases and products look in a terminal. The client verbs draw the API's JSON answers as they come
(camelCase keys, optional fields read only when present); `local run` and the demo draw release records."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from promotions.release.model import Release

# Colour, and a mark that says the same to whoever cannot see the colour; the status word is always printed.
_STATUS_STYLES: dict[str, tuple[str, str]] = {
    "Pending": ("dim", "○"),
    "Queued": ("dim", "○"),
    "Running": ("yellow", "▶"),
    "Suspended": ("magenta", "⏸"),
    "Successful": ("green", "✔"),
    "Succeeded": ("green", "✔"),
    "Superseded": ("cyan", "↷"),
    "Failed": ("red", "✘"),
    "Terminating": ("red", "■"),
    "Terminated": ("red", "■"),
}
# A check's outcome (promotions.release.model.CheckState) in the same colours.
_CHECK_STYLES: dict[str, tuple[str, str]] = {
    "passed": ("green", "✔"),
    "failed": ("red", "✘"),
    "waiting": ("magenta", "…"),
    "running": ("yellow", "▶"),
}
_DECISION_STYLES: dict[str, tuple[str, str]] = {
    "approved": ("green", "✔"),
    "rejected": ("red", "✘"),
}
_ARROW = Text("──▶", style="bold")
# Wider nodes would push a four-level flow past a laptop's terminal.
_NODE_WIDTH = 44


def status_label(status: str) -> Text:
    style, mark = _STATUS_STYLES.get(status, ("", "·"))
    return Text(f"{mark} {status}", style=style)


def release_graph(release: dict[str, Any]) -> RenderableType:
    """A release as GET /releases/{id} answers it: its flow drawn left to right, one column per level of
    dependsOn, each environment a box in its status's colour with its commit, reason, checks, approvals and
    failure; then who did what to it."""
    heading = Text.assemble(
        (f"{release['product']} {release['version']}", "bold"),
        f" · {release['flow']} · ",
        status_label(release["status"]),
    )
    source = release.get("source") or {}
    about = Text(f"release {release['id']}", style="dim")
    if source:
        about.append(f" · source {source['branch']}@{source['commit'][:12]}")
    parts: list[RenderableType] = [heading, about]
    if release.get("reason"):
        parts.append(Text(release["reason"]))
    parts.append(_flow(release))
    parts += [
        Text(f"{_when(entry['at'])} {entry['actor']}: {entry['action']} {entry.get('detail') or ''}".rstrip())
        for entry in release.get("audit") or ()
    ]
    return Group(*parts)


def release_list_table(document: dict[str, Any]) -> Table:
    """GET /releases: one row per release, newest first."""
    table = Table(caption=f"more: --next {document['next']}" if document.get("next") else None)
    for column in ("release", "product", "version", "flow", "status", "created"):
        table.add_column(column)
    for release in document["releases"]:
        table.add_row(
            release["id"],
            release["product"],
            release["version"],
            release["flow"],
            status_label(release["status"]),
            _when(release["createdAt"]),
        )
    return table


def release_notes_table(notes: dict[str, Any]) -> Table:
    """GET /releases/{id}/notes: one row per commit since the previous release, newest first."""
    since = f"since {notes['previousRelease']}" if notes["previousRelease"] else "the flow's first release"
    more = "; more commits than these belong to it" if notes["truncated"] else ""
    table = Table(title=f"{notes['release']} ({since})", caption=f"{len(notes['commits'])} commit(s){more}")
    for column in ("commit", "author", "when", "subject", "issues"):
        table.add_column(column)
    for commit in notes["commits"]:
        table.add_row(
            commit["commit"][:12],
            commit["author"],
            _when(commit["at"]),
            commit["subject"],
            ", ".join(commit["issues"]),
        )
    return table


def product_table(product: dict[str, Any]) -> Table:
    """GET /products/{product}: one row per environment, what runs there and since when."""
    table = Table(title=product["product"])
    for column in ("environment", "version", "commit", "since", "release"):
        table.add_column(column)
    for env in product["environments"]:
        table.add_row(
            env["environment"],
            env["version"] or "",
            (env["commit"] or "")[:12],
            _when(env["since"]) if env["since"] else "",
            env["release"] or "",
        )
    return table


def delivery_metrics_table(metrics: dict[str, Any]) -> Table:
    """GET /products/{product}/metrics: the four DORA keys of the product's prod environments."""
    table = Table(
        title=f"{metrics['product']}: delivery to prod over {metrics['days']} days",
        caption=f"{_when(metrics['since'])} to {_when(metrics['until'])}",
    )
    for column in ("key", "value", "from"):
        table.add_column(column)
    frequency = metrics["deploymentFrequency"]
    lead_time = metrics["leadTimeForChanges"]
    failures = metrics["changeFailureRate"]
    restore = metrics["timeToRestore"]
    rate = failures["rate"]
    table.add_row(
        "deployment frequency",
        f"{frequency['perDay']:.2f} per day",
        f"{frequency['deployments']} deployments",
    )
    table.add_row("lead time for changes", _median(lead_time), f"{lead_time['samples']} deployments")
    table.add_row(
        "change failure rate",
        "—" if rate is None else f"{rate:.0%}",
        f"{failures['failed']} of {failures['total']} changes",
    )
    table.add_row("time to restore", _median(restore), f"{restore['samples']} restored failures")
    return table


def release_table(release: Release) -> Table:
    """A release record as `local run` and the demo show it, one row per environment."""
    table = Table(
        title=Text.assemble(
            f"{release.product} {release.version} · {release.flow} · ", status_label(release.status.value)
        ),
        caption=release.id + (f"\n{release.reason}" if release.reason else ""),
    )
    table.add_column("environment")
    table.add_column("depends on")
    table.add_column("status")
    table.add_column("commit")
    table.add_column("note", overflow="fold")
    for run in release.environments:
        note = "trigger" if run.name == release.trigger_environment else (run.reason or "")
        table.add_row(
            run.name,
            ", ".join(run.depends_on),
            status_label(run.status.value),
            (run.commit or "")[:12],
            note,
        )
    return table


def _flow(release: dict[str, Any]) -> Table:
    environments = release["environments"]
    levels: list[list[dict[str, Any]]] = []
    for env, depth in zip(environments, _levels(environments), strict=True):
        levels += [[] for _ in range(depth + 1 - len(levels))]
        levels[depth].append(env)
    grid = Table.grid(padding=(0, 1))
    for index in range(len(levels)):
        if index:
            grid.add_column(vertical="middle")
        grid.add_column(vertical="middle", max_width=_NODE_WIDTH)
    cells: list[RenderableType] = []
    for index, level in enumerate(levels):
        if index:
            cells.append(_ARROW)
        cells.append(Group(*(_node(env, release["triggerEnvironment"]) for env in level)))
    grid.add_row(*cells)
    return grid


def _levels(environments: list[dict[str, Any]]) -> list[int]:
    """Each environment's level: 0 without dependencies in the release, else one past its deepest dependency."""
    by_name = {env["name"]: env for env in environments}
    found: dict[str, int] = {}

    def level(name: str) -> int:
        if name not in found:
            depends_on = [other for other in by_name[name].get("dependsOn") or () if other in by_name]
            found[name] = 1 + max(map(level, depends_on), default=-1)
        return found[name]

    return [level(env["name"]) for env in environments]


def _node(env: dict[str, Any], trigger_environment: str) -> Panel:
    style, _ = _STATUS_STYLES.get(env["status"], ("", ""))
    lines = [status_label(env["status"])]
    if env.get("dependsOn"):
        lines.append(Text(f"after {', '.join(env['dependsOn'])}", style="dim"))
    if env.get("commit"):
        role = "source" if env["name"] == trigger_environment else "commit"
        lines.append(Text(f"{role} {env['commit'][:12]}"))
    lines += [Text(f"PR #{pull['number']} {pull['url']}") for pull in env.get("pullRequests") or ()]
    failure = env.get("failure")
    if env.get("reason") and not (failure and failure.get("message") == env["reason"]):
        lines.append(Text(env["reason"], style="italic"))
    lines += _checks(env.get("checks") or ())
    lines += _approvals(env.get("approvals") or ())
    if failure:
        lines += _failure(failure)
    return Panel(Group(*lines), title=Text(env["name"], style="bold"), border_style=style, title_align="left")


def _checks(checks: Iterable[dict[str, Any]]) -> list[Text]:
    lines = []
    for check in checks:
        style, mark = _CHECK_STYLES.get(check.get("outcome", ""), ("", "·"))
        line = Text(f"{mark} ", style=style)
        line.append(check["name"])
        line.append(f" ({check['kind']})" if check.get("kind") else "", style="dim")
        line.append(f" {check.get('outcome', '')}", style=style)
        if check.get("reason"):
            line.append(f": {check['reason']}")
        lines.append(line)
    return lines


def _approvals(approvals: Iterable[dict[str, Any]]) -> list[Text]:
    lines = []
    for approval in approvals:
        style, mark = _DECISION_STYLES.get(approval["decision"], ("magenta", "…"))
        line = Text(f"{mark} {approval['decision']}", style=style)
        if approval.get("approver"):
            line.append(f" by {approval['approver']}")
        if approval.get("at"):
            line.append(f" {_when(approval['at'])}", style="dim")
        if approval.get("reason"):
            line.append(f": {approval['reason']}")
        lines.append(line)
    return lines


def _failure(failure: dict[str, Any]) -> list[Text]:
    line = Text(f"✘ {failure['kind']}", style="bold red")
    if failure.get("check"):
        line.append(f" {failure['check']}", style="red")
    line.append(f": {failure['message']}")
    if not failure.get("logsUrl"):
        return [line]
    # Folded rather than cut: a link is no use without its end.
    return [line, Text(f"logs: {failure['logsUrl']}", style="dim", overflow="fold")]


def _when(moment: str) -> str:
    """The API's times are UTC."""
    return datetime.fromisoformat(moment).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _median(durations: dict[str, Any]) -> str:
    seconds = durations["medianSeconds"]
    return "—" if seconds is None else f"median {_duration(seconds)}"


def _duration(seconds: float) -> str:
    minutes, second = divmod(round(seconds), 60)
    hours, minute = divmod(minutes, 60)
    days, hour = divmod(hours, 24)
    if days:
        return f"{days}d {hour}h"
    if hours:
        return f"{hours}h {minute}m"
    if minutes:
        return f"{minutes}m {second}s"
    return f"{second}s"
