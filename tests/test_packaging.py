"""What ships to Lambda: the layer's pinned requirements, and a domain package free of local-only code."""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOMAIN = REPO / "layers" / "promotions" / "promotions"
FUNCTIONS = REPO / "functions"
LOCAL_ONLY = ("promotions_local", "moto", "typer", "rich")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def runtime_sources() -> list[Path]:
    return sorted([*DOMAIN.rglob("*.py"), *FUNCTIONS.rglob("*.py")])


def test_runtime_code_imports_nothing_local_only():
    offenders = [
        f"{path.relative_to(REPO)} imports {module}"
        for path in runtime_sources()
        for module in imported_modules(path)
        if module.split(".")[0] in LOCAL_ONLY
    ]
    assert offenders == []


def test_runtime_code_never_starts_processes():
    """No git binary at run time: the Lambda image has none, and the engine must not need one."""
    offenders = [
        f"{path.relative_to(REPO)} imports {module}"
        for path in runtime_sources()
        for module in imported_modules(path)
        if module.split(".")[0] in ("subprocess", "pty") or module == "os.system"
    ]
    assert offenders == []


# What the python3.13 Lambda runtime has beside the standard library, left out of the layer: the runtime's own
# boto3 is what the functions use. urllib3 stays in the layer: dulwich needs 2.2.2 or newer, and the runtime
# does not say which it bundles.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six")
EXPORT = ["uv", "export", "--frozen", "--no-dev", "--no-emit-project", "--no-hashes", "--no-header"]
LAYER_EXPORT = [*EXPORT, *(option for name in RUNTIME_PROVIDED for option in ("--no-emit-package", name))]
LAYER_SOURCE = REPO / "layers" / "promotions"


def exported(*command: str) -> str:
    return subprocess.run(command, cwd=REPO, check=True, capture_output=True, text=True).stdout


def pinned_names(requirements: str) -> set[str]:
    return {
        line.split("==")[0] for line in requirements.splitlines() if line and not line.startswith((" ", "#"))
    }


def test_layer_requirements_match_the_lock():
    committed = (LAYER_SOURCE / "requirements.txt").read_text()
    assert committed == exported(*LAYER_EXPORT), (
        f"layers/promotions/requirements.txt is stale: run `{' '.join(LAYER_EXPORT)} -o layers/promotions/requirements.txt`"
    )


def test_the_layer_leaves_out_only_what_the_lambda_runtime_has():
    left_out = pinned_names(exported(*EXPORT)) - pinned_names((LAYER_SOURCE / "requirements.txt").read_text())
    assert left_out == set(RUNTIME_PROVIDED)


def test_the_signing_layer_holds_what_cryptography_alone_needs():
    """The Makefile's SIGNING_PACKAGES go in the commit signing layer and nowhere else: they must be exactly what
    the lock installs for cryptography and for nothing else, or a function without that layer misses one."""
    makefile = (LAYER_SOURCE / "Makefile").read_text()
    declared = re.search(r"^SIGNING_PACKAGES = (.+)$", makefile, re.MULTILINE)
    assert declared, "layers/promotions/Makefile declares no SIGNING_PACKAGES"
    only_for_signing = pinned_names(exported(*EXPORT)) - pinned_names(
        exported(*EXPORT, "--prune", "cryptography")
    )
    assert set(declared.group(1).split()) == only_for_signing
