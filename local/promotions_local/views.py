"""How releases look in a terminal."""

from __future__ import annotations

from rich.table import Table

from promotions.release.model import Release

_STYLES = {
    "Successful": "green",
    "Superseded": "cyan",
    "Succeeded": "green",
    "Running": "yellow",
    "Pending": "dim",
    "Failed": "red",
    "Terminated": "red",
    "Suspended": "magenta",
    "Queued": "dim",
}


def release_table(release: Release) -> Table:
    status = release.status.value
    table = Table(
        title=f"{release.product} {release.version} · {release.flow} · [{_STYLES.get(status, '')}]{status}[/]",
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
            f"[{_STYLES.get(run.status.value, '')}]{run.status.value}[/]",
            (run.commit or "")[:12],
            note,
        )
    return table
