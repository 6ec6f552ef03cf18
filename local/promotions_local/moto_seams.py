"""Every patch the local runtime applies to moto's internals, in one place.

The local mode runs the real Lambda handlers and the real state machine definitions on moto's server. Moto
would run Lambda functions in Docker and would really sleep through Wait states and Retry intervals; these
seams route Lambda invocations to the handlers in this process, turn waiting into moving the engine's
clock (promotions.clock) unless real time is asked for, make EventBridge deliver the whole event envelope
to SQS as AWS does, let the Step Functions startExecution integration speak boto3's parameter names, and
make DynamoDB writes atomic per item as DynamoDB's are. They reach into private moto code, so they are
pinned to one moto version and tests/local/test_moto_seams.py checks each patched attribute and its
behaviour through a real state machine.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import threading
import time
import traceback
import types
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import moto
from pydantic import BaseModel, ConfigDict, Field

from promotions import clock

MOTO_VERSION = "5.2.5"


class MotoVersionMismatch(RuntimeError):
    """The installed moto is not the version the seams were written against."""


if moto.__version__ != MOTO_VERSION:
    raise MotoVersionMismatch(
        f"promotions_local.moto_seams patches moto's private internals and is pinned to moto {MOTO_VERSION}, "
        f"but moto {moto.__version__} is installed. Install the locked environment (`./dev test` or "
        f"`uv sync --frozen --all-extras`), or, to move to a new moto, update MOTO_VERSION after "
        "tests/local/test_moto_seams.py passes against it."
    )

# Imported only after the version check: on another moto these modules may not exist at all.
from moto.awslambda.models import LambdaFunction
from moto.core.config import default_user_config
from moto.core.responses import ActionResult, EmptyResult
from moto.dynamodb.models import DynamoDBBackend
from moto.events.utils import EventTemplateParser
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (
    StateTaskServiceCallback,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (
    StateTaskServiceSfn,
)
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.timestamp import (
    Timestamp,
)
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import (
    WaitFunction,
)
from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackEndpoint, CallbackOutcome
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.models import StepFunctionsParserBackend
from moto.stepfunctions.responses import StepFunctionResponse

logger = logging.getLogger(__name__)

LambdaHandler = Callable[[Any, "LambdaContext"], Any]


class LambdaContext(BaseModel):
    """What the Lambda Python runtime passes as `context`; Powertools reads it."""

    model_config = ConfigDict(frozen=True)

    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    deadline_monotonic: float = Field(repr=False)
    # Set only for invocations from the AWS Mobile SDK, never for this engine's; present as on AWS.
    client_context: None = None
    identity: None = None

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline_monotonic - time.monotonic()) * 1000))


class HandlerRegistry:
    """The in-process handler of each Lambda function name: the stack fills it, the dispatcher reads it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._handlers: dict[str, LambdaHandler] = {}

    def register(self, function_name: str, handler: LambdaHandler) -> None:
        with self._lock:
            if function_name in self._handlers:
                raise ValueError(f"a handler is already registered for Lambda function {function_name!r}")
            self._handlers[function_name] = handler

    def lookup(self, function_name: str) -> LambdaHandler | None:
        with self._lock:
            return self._handlers.get(function_name)


_active_lock = threading.Lock()
_active_registry: HandlerRegistry | None = None


def _invocation_context(function: LambdaFunction, request_id: str) -> LambdaContext:
    started = datetime.now(UTC)
    return LambdaContext(
        function_name=function.function_name,
        function_version=str(function.version),
        invoked_function_arn=function.function_arn,
        memory_limit_in_mb=int(function.memory_size),
        aws_request_id=request_id,
        log_group_name=f"/aws/lambda/{function.function_name}",
        log_stream_name=f"{started:%Y/%m/%d}/[{function.version}]{uuid.uuid4().hex}",
        deadline_monotonic=time.monotonic() + int(function.timeout),
    )


def _function_error(error_type: str, message: str, stack_trace: list[str]) -> str:
    # The payload shape the Lambda Python runtime returns for an uncaught exception; Step Functions reads
    # errorType from it to match Retry and Catch clauses.
    return json.dumps({"errorMessage": message, "errorType": error_type, "stackTrace": stack_trace})


def _invoke_in_process(function: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
    """Replaces LambdaFunction._invoke_lambda (a Docker run). Returns (payload, errored, logs)."""
    registry = _active_registry
    handler = registry.lookup(function.function_name) if registry else None
    if handler is None:
        message = f"no in-process handler is registered for Lambda function {function.function_name!r}"
        return _function_error("Runtime.HandlerNotFound", message, []), True, ""
    # moto hands over the parsed JSON payload, except for an empty body, which it passes as the text "{}".
    if event is None or event == "{}":
        event = {}
    context = _invocation_context(function, str(uuid.uuid4()))
    started = time.monotonic()
    try:
        result = handler(event, context)
    # Broad on purpose: like the Lambda runtime, any error a handler raises becomes the invocation's function error.
    except Exception as exc:  # noqa: BLE001
        # The first frame is this dispatcher; the runtime's stack trace starts in the handler.
        frames = traceback.extract_tb(exc.__traceback__.tb_next) if exc.__traceback__ else []
        logger.warning("Lambda function %s raised %s: %s", function.function_name, type(exc).__name__, exc)
        return _function_error(type(exc).__name__, str(exc), traceback.format_list(frames)), True, ""
    finally:
        elapsed = time.monotonic() - started
        if elapsed > int(function.timeout):
            logger.warning(
                "Lambda function %s ran %.1f s, longer than its Timeout of %s s: AWS would have stopped it",
                function.function_name,
                elapsed,
                function.timeout,
            )
    try:
        return json.dumps(result), False, ""
    except (TypeError, ValueError) as exc:
        return _function_error("Runtime.MarshalError", f"Unable to marshal response: {exc}", []), True, ""


def _skip(seconds: float) -> None:
    if seconds > 0:
        clock.fast_forward(seconds)


def _fast_forward_wait(self: WaitFunction, env: Environment, wait_seconds: int) -> None:
    """Replaces WaitFunction._wait_interval: a Wait state moves the engine's clock instead of sleeping."""
    _skip(wait_seconds)


def _seconds_until_timestamp(self: Timestamp, env: Environment) -> int:
    """Replaces Timestamp._get_wait_seconds.

    Moto measures a Wait's Timestamp against the machine's naive local time; the engine computes such
    timestamps from promotions.clock, which the other seams move forward, so measure against that clock.
    """
    self.string.eval(env=env)
    timestamp_text: str = env.stack.pop()
    timestamp = self._from_timestamp_string(timestamp=timestamp_text)
    if timestamp is None:
        # Moto's own failure for a malformed timestamp, so the execution fails as it would on AWS.
        raise FailureEventException(self._create_failure_event(env, timestamp_text))
    # Rounded up: once the Wait is over, the clock must read the timestamp or later.
    return math.ceil((timestamp.replace(tzinfo=UTC) - clock.now()).total_seconds())


# RetrierDecl sleeps through a Retry's interval with the module-level `time.sleep`; the seam swaps that
# module reference for one whose sleep moves the clock, so a Retry with backoff costs no wall time.
_retrier_time = types.SimpleNamespace(sleep=_skip)

# EventBridge hands SQS targets the whole event; moto's default input template leaves out `account`,
# which the real envelope always has (and Powertools' EventBridgeModel requires).
_WHOLE_EVENT_TEMPLATE = (
    '{"version": "0", "id": "<id>", "detail-type": "<detail-type>", "source": "<source>", "account": "<account>", '
    '"time": <time>, "region": "<region>", "resources": <resources>, "detail": <detail>}'
)

# Moto's Step Functions service integration hands the state's PascalCase parameters (StateMachineArn, Input)
# straight to boto3, whose Step Functions API spells them stateMachineArn and input, and hands boto3's
# camelCase answers back where the interpreter and the ASL expect the integration's PascalCase fields
# (ExecutionArn, Status, Output). Localstack, which moto's interpreter comes from, translates both ways.
_original_sfn_parameters = StateTaskServiceSfn._normalise_parameters


def _boto_spelled_parameters(
    self: StateTaskServiceSfn,
    parameters: dict,
    boto_service_name: str | None = None,
    service_action_name: str | None = None,
) -> None:
    _original_sfn_parameters(self, parameters, boto_service_name, service_action_name)
    for key in [key for key in parameters if key[:1].isupper()]:
        parameters[key[0].lower() + key[1:]] = parameters.pop(key)


def _integration_spelled_response(
    self: StateTaskServiceSfn,
    response: Any,
    boto_service_name: str | None = None,
    service_action_name: str | None = None,
) -> None:
    if isinstance(response, dict):
        for key in [key for key in response if key[:1].islower()]:
            response[key[0].upper() + key[1:]] = response.pop(key)


# DynamoDB applies each write, its condition included, atomically; moto's backend takes no lock, so two
# threads' conditional writes to one item can both pass. The engine's token claims and compare-and-set
# context merges rely on that atomicity, so every write to moto's DynamoDB goes through one lock.
_dynamodb_writes = threading.RLock()
_DYNAMODB_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items")


def _one_at_a_time(write: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(write)
    def serialised(*args: Any, **kwargs: Any) -> Any:
        with _dynamodb_writes:
            return write(*args, **kwargs)

    return serialised


_ATOMIC_DYNAMODB: tuple[tuple[object, str, object], ...] = tuple(
    (DynamoDBBackend, name, _one_at_a_time(getattr(DynamoDBBackend, name))) for name in _DYNAMODB_WRITES
)


# SendTaskFailure's cause says why a waiting task failed (who rejected an approval, and why); moto's response
# handler passes the error on to the interpreter but drops the cause.
def _send_task_failure_with_cause(self: StepFunctionResponse) -> ActionResult:
    # With execution switched on (applied()), the backend is the interpreter's, which takes the cause.
    backend = cast(StepFunctionsParserBackend, self.stepfunction_backend)
    backend.send_task_failure(
        self._get_param("taskToken"), error=self._get_param("error"), cause=self._get_param("cause")
    )
    return EmptyResult()


# A task waiting on its token (an approval) times out after TimeoutSeconds of the engine's clock, which the
# Wait and Retry seams move, not of the machine's: a test moves the clock past an approval's timeout rather
# than waiting it out. Moto waits on the token's event for the whole timeout; this waits in short slices,
# each ending early when the token is answered or the execution stops (both set the event).
_TOKEN_WAIT_SLICE_SECONDS = 0.05


def _token_wait_on_the_clock(
    self: StateTaskServiceCallback, timeout_seconds: int, callback_endpoint: CallbackEndpoint
) -> CallbackOutcome | None:
    deadline = clock.now() + timedelta(seconds=timeout_seconds)
    while not callback_endpoint._notify_event.wait(timeout=_TOKEN_WAIT_SLICE_SECONDS):
        if clock.now() >= deadline:
            return None
    return callback_endpoint.get_outcome()


# Without these, Wait states and Retry intervals take their time, as on AWS; the engine's clock is then the
# machine's, so the other seams that read it hold either way.
_FAST_FORWARD: tuple[tuple[object, str, object], ...] = (
    (WaitFunction, "_wait_interval", _fast_forward_wait),
    (retrier_decl, "time", _retrier_time),
)

_PATCHES: tuple[tuple[object, str, object], ...] = (
    (LambdaFunction, "_invoke_lambda", _invoke_in_process),
    (Timestamp, "_get_wait_seconds", _seconds_until_timestamp),
    (EventTemplateParser, "DEFAULT_EVENT_INPUT_TEMPLATE", _WHOLE_EVENT_TEMPLATE),
    (StateTaskServiceSfn, "_normalise_parameters", _boto_spelled_parameters),
    (StateTaskServiceSfn, "_normalise_response", _integration_spelled_response),
    (StepFunctionResponse, "send_task_failure", _send_task_failure_with_cause),
    (StateTaskServiceCallback, "_wait_for_task_token_timeout", _token_wait_on_the_clock),
    *_ATOMIC_DYNAMODB,
)

_INHERITED = object()


@contextmanager
def _patched(patches: tuple[tuple[object, str, object], ...]) -> Iterator[None]:
    # An attribute a class inherits is deleted again on the way out, not pinned as the class's own.
    originals = [(owner, name, vars(owner).get(name, _INHERITED)) for owner, name, _ in patches]
    try:
        for owner, name, replacement in patches:
            setattr(owner, name, replacement)
        yield
    finally:
        for owner, name, original in reversed(originals):
            if original is _INHERITED:
                delattr(owner, name)
            else:
                setattr(owner, name, original)


@contextmanager
def atomic_dynamodb_writes() -> Iterator[None]:
    """Only the DynamoDB seam: for code that runs on moto in this process without the local stack."""
    with _patched(_ATOMIC_DYNAMODB):
        yield


@contextmanager
def applied(registry: HandlerRegistry, *, fast_forward: bool = True) -> Iterator[None]:
    """Patch moto for the local runtime while the block runs; handlers are looked up in `registry`. With
    `fast_forward`, waiting moves the engine's clock instead of taking its time.

    Also switches on moto's Step Functions interpreter, without which executions never run a state.
    Only one block may be active in a process: the patches are process-wide.
    """
    global _active_registry
    with _active_lock:
        if _active_registry is not None:
            raise RuntimeError(
                "moto seams are already applied in this process (is another LocalStack running?)"
            )
        _active_registry = registry
    sfn_config = default_user_config["stepfunctions"]
    executed_before = sfn_config["execute_state_machine"]
    try:
        with _patched((*_PATCHES, *_FAST_FORWARD) if fast_forward else _PATCHES):
            sfn_config["execute_state_machine"] = True
            yield
    finally:
        sfn_config["execute_state_machine"] = executed_before
        with _active_lock:
            _active_registry = None
