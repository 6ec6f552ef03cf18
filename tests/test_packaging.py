"""What ships to Lambda: the layer's pinned requirements, and a domain package free of local-only code."""

from __future__ import annotations

import ast
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


def test_layer_requirements_match_the_lock():
    exported = subprocess.run(
        ["uv", "export", "--frozen", "--no-dev", "--no-emit-project", "--no-hashes", "--no-header"],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    committed = (REPO / "layers" / "promotions" / "requirements.txt").read_text()
    assert committed == exported, (
        "layers/promotions/requirements.txt is stale: run "
        "`uv export --frozen --no-dev --no-emit-project --no-hashes --no-header -o layers/promotions/requirements.txt`"
    )
