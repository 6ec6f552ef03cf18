"""Cold start of every Lambda handler, and the size of the layers, as `sam build` ships them.

    uv run --frozen python bench/cold_start.py [--runs 9] [--functions api ingest]
        (after ./dev test has installed the environment; needs python3.13 with pip, as `sam build` does)

Builds the layers with their own Makefile (layers/promotions/Makefile), as `sam build` does: for arm64, as
deployed, to weigh them unzipped; and the promotions layer for this machine's architecture, to import from (the
wheels come from pip's cache or index). Then times `import app` for each function in fresh interpreters that see
what Lambda's sees: the function's folder, the layer's `python/` folder, and the python3.13 runtime's boto3 and
its dependencies (here, the project environment's, compiled as the runtime ships them). No compiled file is
ever written, so a module shipped without its .pyc is compiled on every run, as on Lambda's read-only /opt;
the imports reach no network. Each handler is timed with tracing off (template.yaml's default) and on.

The baseline, timed next to each handler in the same way, is a function that only imports boto3 and makes one
client: the floor any Python function on AWS pays. Each figure is the best of its runs, as timeit reports:
other work on the machine only ever adds to an import's time. Targets: each handler's import ≤ 300 ms, the
promotions layer ≤ 30 MB unzipped.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LAYER_SOURCE = REPO / "layers" / "promotions"
FUNCTIONS = REPO / "functions"
IMPORT_TARGET_MS = 300
LAYER_TARGET_MB = 30
MB = 1000 * 1000
# What the python3.13 Lambda runtime has beside the standard library: the layer leaves them out
# (tests/test_packaging.py's RUNTIME_PROVIDED), except urllib3, whose own copy in the layer comes first.
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six.py", "urllib3")

TIMED = "import time\nstarted = time.perf_counter()\n{code}\nprint((time.perf_counter() - started) * 1000)\n"
BASELINE = TIMED.format(code="import boto3\nboto3.client('sqs')")
HANDLER = TIMED.format(code="import app")
# The settings template.yaml gives the functions, with values that reach nothing, and those Lambda sets.
FUNCTION_ENVIRONMENT = {
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "benchmark",
    "AWS_SECRET_ACCESS_KEY": "benchmark",
    "AWS_LAMBDA_FUNCTION_NAME": "benchmark",
    "AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000",
    "PROMOTIONS_TABLE": "promotions",
    "IDEMPOTENCY_TABLE": "idempotency",
    "CONFIG_REPO_URL": "https://git.example.invalid/platform/config.git",
    "CONFIG_REPO_BRANCH": "main",
    "CHECK_RESOURCE_PREFIX": "promotions-check-",
    "STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:release",
    "EVENT_BUS_NAME": "promotions",
    "WEBHOOK_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:webhook",
    "DEAD_LETTER_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/dead-letters",
    "WEBHOOK_PAYLOADS_BUCKET": "payloads",
    "POWERTOOLS_SERVICE_NAME": "promotions",
    "POWERTOOLS_METRICS_NAMESPACE": "Promotions",
    "POWERTOOLS_LOG_LEVEL": "INFO",
}


def python_with_pip() -> str:
    """A python3.13 with pip, as `sam build` needs: this one, the one on PATH, or pyenv's."""
    candidates = [sys.executable, shutil.which("python3.13")]
    if shutil.which("pyenv"):
        prefix = subprocess.run(
            ["pyenv", "prefix", "3.13"], capture_output=True, text=True, check=False
        ).stdout.strip()
        candidates.append(f"{prefix}/bin/python3.13" if prefix else None)
    for candidate in filter(None, candidates):
        probe = subprocess.run(
            [candidate, "-c", "import sys, pip; assert sys.version_info[:2] == (3, 13)"],
            capture_output=True,
            check=False,
        )
        if probe.returncode == 0:
            return candidate
    sys.exit("python3.13 with pip is required (the interpreter `sam build` uses)")


def build_layer(target: str, destination: Path, architecture: str, python: str) -> Path:
    subprocess.run(
        ["make", "--silent", "-C", str(LAYER_SOURCE), target, f"ARTIFACTS_DIR={destination}"]
        + [f"ARCH={architecture}", f"PYTHON={python}"],
        check=True,
    )
    return destination / "python"


def unzipped_mb(folder: Path) -> float:
    """What Lambda counts against a layer's unzipped size: the bytes of its files."""
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file()) / MB


def lambda_runtime_packages(destination: Path, python: str) -> Path:
    """boto3 and its dependencies from this environment, compiled as the Lambda runtime ships them, and
    nothing else of it: a package the layer left out by mistake fails to import here."""
    import boto3

    site_packages = Path(boto3.__file__).parents[1]
    for name in RUNTIME_PACKAGES:
        source = site_packages / name
        if source.is_dir():
            shutil.copytree(source, destination / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, destination / name)
    subprocess.run(
        [
            python,
            "-m",
            "compileall",
            "-q",
            "-j",
            "0",
            "--invalidation-mode",
            "unchecked-hash",
            str(destination),
        ],
        check=True,
    )
    return destination


def timed_import(code: str, python_path: list[Path], *, tracing: bool = False) -> float:
    """Milliseconds `code` takes in a fresh interpreter that sees only `python_path`, as Lambda's does."""
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.pathsep.join(map(str, python_path)),
        "PYTHONDONTWRITEBYTECODE": "1",
        **FUNCTION_ENVIRONMENT,
        "LAMBDA_TASK_ROOT": str(python_path[0]),
        # What template.yaml's Tracing parameter sets: Active, or PassThrough (the default).
        "POWERTOOLS_TRACE_DISABLED": "false" if tracing else "true",
    }
    # -S: none of this environment's site-packages, only the folders given; the working folder is the first
    # of them, as /var/task is.
    result = subprocess.run(
        [sys.executable, "-S", "-c", code],
        env=environment,
        capture_output=True,
        text=True,
        cwd=python_path[0],
        check=False,
    )
    if result.returncode != 0:
        sys.exit(f"importing failed under {python_path[0]}:\n{result.stderr}")
    return float(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    functions = sorted(path.parent for path in FUNCTIONS.glob("*/app.py"))
    parser.add_argument("--runs", type=int, default=9, help="fresh interpreters per handler and setting")
    parser.add_argument(
        "--functions",
        nargs="+",
        choices=[function.name for function in functions],
        metavar="FUNCTION",
        help="time only these functions' handlers (folders of functions/); all of them by default",
    )
    arguments = parser.parse_args()
    if arguments.functions:
        functions = [function for function in functions if function.name in arguments.functions]

    python = python_with_pip()
    with tempfile.TemporaryDirectory(prefix="promotions-cold-start-") as scratch_name:
        scratch = Path(scratch_name)
        shipped = build_layer("build-PromotionsLayer", scratch / "arm64", "aarch64", python)
        signing = build_layer("build-CommitSigningLayer", scratch / "arm64-signing", "aarch64", python)
        layer_mb, signing_mb = unzipped_mb(shipped), unzipped_mb(signing)
        importable = build_layer("build-PromotionsLayer", scratch / "host", platform.machine(), python)
        runtime = lambda_runtime_packages(scratch / "runtime", python)
        verdict = "met" if layer_mb <= LAYER_TARGET_MB else "NOT met"
        print(
            f"promotions layer, unzipped (arm64, as shipped): {layer_mb:.1f} MB, ≤ {LAYER_TARGET_MB} MB {verdict}"
        )
        print(
            f"commit signing layer, unzipped (arm64; promote function, with a signing key): {signing_mb:.1f} MB"
        )
        print(f"import app, best of {arguments.runs} fresh interpreters each, and × the baseline's best")
        print(f"{'handler':<22}{'tracing off (default)':>24}{'tracing on':>20}{'baseline':>10}")

        baselines = []
        for function in functions:
            python_path = [function, importable, runtime]
            runs = []
            # The baseline is timed next to each handler's imports, so that all three see the same load.
            for _ in range(arguments.runs):
                baseline = timed_import(BASELINE, [scratch, runtime])
                off = timed_import(HANDLER, python_path)
                on = timed_import(HANDLER, python_path, tracing=True)
                runs.append((baseline, off, on))
            baselines += [baseline for baseline, _, _ in runs]
            baseline_ms, off_ms, on_ms = (min(column) for column in zip(*runs, strict=True))
            off_ratio, on_ratio = off_ms / baseline_ms, on_ms / baseline_ms
            verdict = "met" if off_ms <= IMPORT_TARGET_MS else "NOT met"
            print(
                f"{function.name:<22}{off_ms:>9.0f} ms {off_ratio:>5.2f}× {verdict:<7}"
                f"{on_ms:>9.0f} ms {on_ratio:>5.2f}×{baseline_ms:>7.0f} ms"
            )
        print(f"baseline (import boto3, one client): best {min(baselines):.0f} ms")


if __name__ == "__main__":
    main()
