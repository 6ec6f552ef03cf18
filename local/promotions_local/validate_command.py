"""`promotions validate DIR`: check a configuration folder the way the engine will read it."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from promotions.config import ConfigError, ConfigProblem, Configuration, load_configuration_dir


def validate(config_dir: Path) -> int:
    """Print every problem as `FILE:LINE: message` on stderr (FILE under `config_dir` as given) and return 1,
    or print a one-line summary on stdout and return 0. Warnings (`FILE:LINE: warning: message`, on stderr)
    fail nothing."""
    try:
        configuration = load_configuration_dir(config_dir)
    except OSError as error:
        print(f"{config_dir.as_posix()}: {error.strerror or error}", file=sys.stderr)
        return 1
    except ConfigError as error:
        _print(config_dir, error.problems, error.warnings)
        return 1
    _print(config_dir, (), configuration.warnings)
    print(f"{config_dir.as_posix()}: valid: {_summary(configuration)}")
    return 0


def _print(config_dir: Path, problems: Iterable[ConfigProblem], warnings: Iterable[ConfigProblem]) -> None:
    for problem in problems:
        print(replace(problem, file=(config_dir / problem.file).as_posix()), file=sys.stderr)
    for warning in warnings:
        print(
            replace(
                warning, file=(config_dir / warning.file).as_posix(), message=f"warning: {warning.message}"
            ),
            file=sys.stderr,
        )


def _summary(configuration: Configuration) -> str:
    counts = [
        (len(configuration.products), "product", "products"),
        (len(configuration.environments), "environment", "environments"),
        (len(configuration.flows), "flow", "flows"),
        (len(configuration.applications), "application", "applications"),
        (len(configuration.policies), "policy", "policies"),
    ]
    return ", ".join(f"{count} {singular if count == 1 else plural}" for count, singular, plural in counts)
