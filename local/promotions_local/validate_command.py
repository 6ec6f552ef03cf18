"""`promotions validate DIR`: check a configuration folder the way the engine will read it."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from promotions.config import ConfigError, Configuration, load_configuration_dir


def validate(config_dir: Path) -> int:
    """Print every problem as `FILE:LINE: message` on stderr (FILE under `config_dir` as given) and return 1,
    or print a one-line summary on stdout and return 0."""
    try:
        configuration = load_configuration_dir(config_dir)
    except OSError as error:
        print(f"{config_dir.as_posix()}: {error.strerror or error}", file=sys.stderr)
        return 1
    except ConfigError as error:
        for problem in error.problems:
            print(replace(problem, file=(config_dir / problem.file).as_posix()), file=sys.stderr)
        return 1
    print(f"{config_dir.as_posix()}: valid: {_summary(configuration)}")
    return 0


def _summary(configuration: Configuration) -> str:
    counts = [
        (len(configuration.products), "product", "products"),
        (len(configuration.environments), "environment", "environments"),
        (len(configuration.flows), "flow", "flows"),
        (len(configuration.applications), "application", "applications"),
        (len(configuration.policies), "policy", "policies"),
    ]
    return ", ".join(f"{count} {singular if count == 1 else plural}" for count, singular, plural in counts)
