"""One rule for errors: a transient failure is retried by the state machine under one name, whatever raised it;
a terminal one is never retried and reaches Catch with its own name."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import json
import pkgutil
import re
import uuid
from pathlib import Path

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from pynamodb.exceptions import PutError

import promotions
from promotions.errors import TransientError, is_transient
from promotions.git import RefNotFound
from promotions.release.concurrency import EnvironmentLocked
from promotions.release.store import ReleaseNotFound

REPO = Path(__file__).resolve().parents[1]
# Error names AWS raises itself (the Lambda service, Step Functions): no function of ours raises them.
AWS_ERROR_PREFIXES = ("Lambda.", "States.", "Sandbox.")
# Every field any task's input model reads, valid for each: the models ignore what they do not read.
TASK_INPUT = {
    "releaseId": "r-1",
    "environment": "prod",
    "taskToken": "token",
    "stage": "pre",
    "succeeded": True,
    "action": "settle",
}


class Context:
    function_name = "task"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:task"
    memory_limit_in_mb = 1024
    aws_request_id = "req-1"
    log_group_name = log_stream_name = "task"

    def get_remaining_time_in_millis(self):
        return 300_000


def definition() -> dict:
    spec = importlib.util.spec_from_file_location("release_asl", REPO / "statemachines" / "release_asl.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return json.loads(module.render())


def lambda_tasks(states: dict) -> dict[str, dict]:
    """Every Lambda task state, Map iterations included, by name."""
    tasks = {}
    for name, state in states.items():
        if state["Type"] == "Map":
            tasks.update(lambda_tasks(state["ItemProcessor"]["States"]))
        elif state["Type"] == "Task" and state["Resource"].startswith("arn:aws:states:::lambda:invoke"):
            tasks[name] = state
    return tasks


def retried_names(state: dict) -> set[str]:
    return {name for retry in state.get("Retry", []) for name in retry["ErrorEquals"]}


def function_of(state: dict) -> str:
    """`${PromoteEnvironmentFunctionArn}` -> promote_environment, its folder under functions/."""
    placeholder = state["Parameters"]["FunctionName"].removeprefix("${").removesuffix("FunctionArn}")
    return re.sub(r"(?<!^)(?=[A-Z])", "_", placeholder).lower()


def transient_classes() -> list[type[TransientError]]:
    for module in pkgutil.walk_packages(promotions.__path__, "promotions."):
        importlib.import_module(module.name)

    def subclasses(cls):
        for subclass in cls.__subclasses__():
            yield subclass
            yield from subclasses(subclass)

    return sorted(set(subclasses(TransientError)), key=lambda cls: cls.__qualname__)


def aws_error(code: str, status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "from AWS"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "PutItem",
    )


TRANSIENT_FAILURES = [
    *(cls("it failed") for cls in transient_classes()),
    aws_error("ProvisionedThroughputExceededException", 400),
    aws_error("ThrottlingException", 400),
    aws_error("InternalServerError", 500),
    EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com"),
    # pynamodb puts its own error around DynamoDB's
    PutError("Failed to put item", aws_error("ProvisionedThroughputExceededException", 400)),
]
TERMINAL_FAILURES = [
    RefNotFound("no commit 123 in the repository"),
    ReleaseNotFound("r-1"),
    aws_error("ConditionalCheckFailedException", 400),
    aws_error("AccessDeniedException", 400),
    PutError("Failed to put item", aws_error("ValidationException", 400)),
    KeyError("a bug"),
]


def test_the_transient_classes_include_the_engine_s_known_ones():
    names = {cls.__name__ for cls in transient_classes()}
    assert {"GitTransientError", "PushRaceLost", "HttpTransientError", "ContextMergeConflict"} <= names


@pytest.mark.parametrize("error", TRANSIENT_FAILURES, ids=lambda error: type(error).__name__)
def test_transient_failures_are_transient(error):
    assert is_transient(error)


@pytest.mark.parametrize("error", TERMINAL_FAILURES, ids=lambda error: type(error).__name__)
def test_other_failures_are_terminal(error):
    assert not is_transient(error)


class FailingServices:
    """services() whose every part raises `error` on use."""

    def __init__(self, error: Exception) -> None:
        self._error = error

    def __getattr__(self, name):
        raise self._error


def task_handlers(functions: set[str], monkeypatch) -> dict:
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Promotions")
    modules = {}
    for function in functions:
        spec = importlib.util.spec_from_file_location(
            f"{function}_{uuid.uuid4().hex}", REPO / "functions" / function / "app.py"
        )
        modules[function] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(modules[function])
    return modules


def task_input(state: dict) -> dict:
    """TASK_INPUT with the values the state itself fixes in its payload (a function's `action`, say)."""
    fixed = {key: value for key, value in state["Parameters"]["Payload"].items() if not key.endswith(".$")}
    return TASK_INPUT | fixed


def raised_by(module, state: dict, error: Exception, monkeypatch) -> BaseException:
    """What the function's handler raises when the domain fails with `error` in the task `state`."""
    monkeypatch.setattr(module, "services", lambda: FailingServices(error))
    with pytest.raises(Exception) as raised:
        module.handler(task_input(state), Context())
    return raised.value


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_every_task_retries_every_transient_failure_and_no_terminal_one(monkeypatch):
    tasks = lambda_tasks(definition()["States"])
    assert len(tasks) > 10
    handlers = task_handlers({function_of(state) for state in tasks.values()}, monkeypatch)
    names_raised = set()
    for name, state in tasks.items():
        retried = retried_names(state)
        for error in TRANSIENT_FAILURES:
            raised = raised_by(handlers[function_of(state)], state, error, monkeypatch)
            names_raised.add(type(raised).__name__)
            assert type(raised).__name__ in retried, f"{name} does not retry {error!r} (raised as {raised!r})"
            assert str(error) in str(raised), "the reason of the original failure is kept"
        for error in TERMINAL_FAILURES:
            raised = raised_by(handlers[function_of(state)], state, error, monkeypatch)
            assert raised is error
            assert type(raised).__name__ not in retried and "States.ALL" not in retried, (
                f"{name} retries the terminal {error!r}"
            )
    own_names = {
        error
        for state in tasks.values()
        for error in retried_names(state)
        if not error.startswith(AWS_ERROR_PREFIXES)
    }
    waits = own_names - names_raised
    assert waits <= set(WAITS), f"Retry lists names no function raises: {waits - set(WAITS)}"
    for name, state in tasks.items():
        for waited in retried_names(state) & waits:
            error = WAITS[waited]("another release holds the lock")
            assert raised_by(handlers[function_of(state)], state, error, monkeypatch) is error, (
                f"{name} retries {waited} by its name, so its function must raise it as it is"
            )


# Not failures: a state retries these by their own name to wait (for a lock), with its own intervals.
WAITS = {"EnvironmentLocked": EnvironmentLocked}


def test_every_wait_a_state_retries_is_raised_by_the_engine():
    raised = {
        node.exc.func.id
        for path in Path(promotions.__path__[0]).rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Raise)
        and isinstance(node.exc, ast.Call)
        and isinstance(node.exc.func, ast.Name)
    }
    assert set(WAITS) <= raised
