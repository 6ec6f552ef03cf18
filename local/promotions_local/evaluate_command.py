"""`promotions evaluate`: what a promotion of a product would do, per environment, without doing it."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.syntax import Syntax
from rich.table import Table

from promotions.config import Configuration, load_configuration_dir
from promotions.git import GitRemote
from promotions.release.promotion import preview_promotion

POLICY_FIELDS = (("action", "action"), ("preAction", "pre_action"), ("postAction", "post_action"))


def evaluate(console: Console, config_dir: Path, product: str, environment: str | None) -> int:
    configuration = load_configuration_dir(config_dir)
    if product not in configuration.products:
        console.print(
            f"[red]no product {product!r}; defined: {', '.join(configuration.products) or 'none'}[/]"
        )
        return 1
    flows = [configuration.flows[flow.name] for flow in configuration.products[product].promotion_flows]
    steps = [(flow, step) for flow in flows for step in flow.ordered_steps()]
    if environment is not None:
        steps = [(flow, step) for flow, step in steps if step.environment == environment]
        if not steps:
            console.print(f"[red]no flow of {product} promotes to {environment!r}[/]")
            return 1
    for flow, step in steps:
        _show_step(console, configuration, product, flow.name, flow.trigger_environment, step.environment)
    return 0


def _show_step(
    console: Console, configuration: Configuration, product: str, flow: str, trigger: str, environment: str
) -> None:
    policy = configuration.policy_for(product, environment, flow)
    table = Table(title=f"{product} → {environment} (flow {flow}, from {trigger})", title_justify="left")
    table.add_column("field")
    table.add_column("value")
    table.add_column("set by")
    for label, name in POLICY_FIELDS:
        value = getattr(policy, name)
        shown = ", ".join(value) if isinstance(value, tuple) else (value or "—")
        table.add_row(label, str(shown), policy.sources.get(name, "—"))
    console.print(table)
    if policy.action == "none":
        console.print("  action none: nothing would be written")
        return
    changes = preview_promotion(configuration, product, trigger, environment, GitRemote)
    if not changes:
        console.print(f"  {environment} already holds what {trigger} has: nothing would be written")
    for change in changes:
        console.print(f"  {change.repo_url} ({change.branch})")
        console.print(Syntax(change.diff(), "diff", theme="ansi_dark", background_color="default"))
