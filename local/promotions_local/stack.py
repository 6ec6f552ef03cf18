"""The embedded local runtime: the template's resources on an in-process moto server, the real handlers.

LocalStack expands template.yaml with SAM's own transform and resolves what CloudFormation would
(stack_template), creates each resource on moto (stack_resources), runs every Lambda function's handler in
this process (moto_seams), and serves SQS event source mappings with its own poller (stack_event_sources).
Handlers share this process's environment, so the functions' environment variables are set in os.environ
while the stack runs, together with the endpoint, region and dummy credentials that point boto3 and
PynamoDB at moto; everything is restored on stop.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import os
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, Self

import boto3
from botocore.config import Config
from moto.server import ThreadedMotoServer

from promotions_local import moto_seams
from promotions_local.stack_event_sources import EventSourceDrainTimeout, SqsEventSourcePoller
from promotions_local.stack_resources import (
    LocalFunction,
    ResourceProvisioner,
    physical_name,
    placeholder_package,
)
from promotions_local.stack_template import (
    CloudFormationTemplate,
    EnvironmentConflictError,
    IntrinsicResolver,
    PhysicalResource,
    SamTemplate,
    TemplateError,
)

__all__ = [
    "EnvironmentConflictError",
    "EventSourceDrainTimeout",
    "ExecutionsStillRunning",
    "FunctionInvocationError",
    "HandlerImportError",
    "LocalStack",
    "LocalStackError",
    "PhysicalResource",
    "TemplateError",
]

logger = logging.getLogger(__name__)

DEFAULT_TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"

# Handlers may run long (Git pushes); a retried Invoke would run a handler twice.
_INVOKE_CONFIG = Config(read_timeout=900, retries={"total_max_attempts": 1})
_EXECUTION_POLL_SECONDS = 0.05
_CREDENTIAL = "local"
# Lambda's trust policy, for the role of a function registered while the stack runs.
_LAMBDA_TRUST_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)
# Variables that would send boto3 somewhere other than the local endpoint, or with another identity.
_DISPLACED_VARIABLES = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
_DISPLACED_PREFIXES = ("AWS_ENDPOINT_URL_",)


class LocalStackError(RuntimeError):
    """The local stack cannot do what was asked; the message says what and why."""


class HandlerImportError(LocalStackError):
    """A function's handler module could not be imported or has no such handler attribute."""


class FunctionInvocationError(LocalStackError):
    """A function invoked through LocalStack.invoke raised; carries the Lambda error payload."""

    def __init__(self, function: str, error_type: str, error_message: str, payload: Any):
        super().__init__(f"function {function} failed with {error_type}: {error_message}")
        self.error_type = error_type
        self.error_message = error_message
        self.payload = payload


class ExecutionsStillRunning(TimeoutError):
    """Step Functions executions were still RUNNING when the wait's time ran out."""


_running_lock = threading.Lock()
_running_stack: LocalStack | None = None


@contextlib.contextmanager
def _environment(set_variables: Mapping[str, str]) -> Iterator[None]:
    """Set `set_variables`, remove the ones that would point boto3 elsewhere, restore all on exit."""
    displaced = [
        name for name in os.environ if name in _DISPLACED_VARIABLES or name.startswith(_DISPLACED_PREFIXES)
    ]
    touched = {*set_variables, *displaced}
    saved = {name: os.environ.get(name) for name in touched}
    try:
        for name in displaced:
            del os.environ[name]
        os.environ.update(set_variables)
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def _quiet_request_log() -> Iterator[None]:
    # Werkzeug logs every request the moto server answers at INFO; the local runtime makes thousands.
    request_logger = logging.getLogger("werkzeug")
    level = request_logger.level
    request_logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        request_logger.setLevel(level)


def merged_function_environment(functions: Sequence[LocalFunction]) -> dict[str, str]:
    """The union of every function's environment variables; they share one process, so two functions may
    not give a variable different values."""
    merged: dict[str, str] = {}
    owner: dict[str, str] = {}
    for function in functions:
        for name, value in function.environment.items():
            if name in merged and merged[name] != value:
                raise EnvironmentConflictError(
                    f"functions {owner[name]} and {function.logical_id} set environment variable {name} to "
                    f"different values ({merged[name]!r} and {value!r}); the local runtime runs every "
                    "handler in one process, so they must agree"
                )
            merged[name] = value
            owner.setdefault(name, function.logical_id)
    return merged


class _LoadedHandlers:
    """Imports each function's handler module under a name of its own, so that several `app.py` coexist."""

    def __init__(self) -> None:
        self._module_names: list[str] = []

    def load(self, function: LocalFunction) -> moto_seams.LambdaHandler:
        module_path, _, attribute = function.handler.rpartition(".")
        if not module_path or not attribute:
            raise HandlerImportError(
                f"function {function.logical_id}: Handler {function.handler!r} is not module.attribute"
            )
        source = function.code_dir.joinpath(*module_path.split(".")).with_suffix(".py")
        if not source.is_file():
            raise HandlerImportError(
                f"function {function.logical_id}: handler module {source.name} "
                f"is not in {function.code_dir.name}/"
            )
        module_name = f"_promotions_local_handler_{function.logical_id}"
        spec = importlib.util.spec_from_file_location(module_name, source)
        if spec is None or spec.loader is None:
            raise HandlerImportError(f"function {function.logical_id}: cannot load {source}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        self._module_names.append(module_name)
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            raise HandlerImportError(
                f"function {function.logical_id}: importing {source} failed with {type(exc).__name__}: {exc} "
                "(handlers are loaded as single files: import shared code from the promotions package)"
            ) from exc
        handler = getattr(module, attribute, None)
        if not callable(handler):
            raise HandlerImportError(
                f"function {function.logical_id}: {source.name} has no callable {attribute!r}"
            )
        return handler

    def unload(self) -> None:
        for module_name in self._module_names:
            sys.modules.pop(module_name, None)
        self._module_names.clear()


class LocalStack:
    """The template's stack on an in-process moto server, with every handler running in this process.

    One LocalStack may run per process at a time: moto's backends, the seams and os.environ are process-wide.
    """

    def __init__(
        self,
        template: Path = DEFAULT_TEMPLATE,
        parameters: Mapping[str, str] = MappingProxyType({}),
        region: str = "us-east-1",
        stack_name: str = "promotions-local",
        *,
        fast_forward: bool = True,
    ):
        self.template_path = Path(template)
        self.parameters = dict(parameters)
        self.region = region
        self.stack_name = stack_name
        # Wait states and Retry intervals move the engine's clock instead of taking their time (moto_seams).
        self.fast_forward = fast_forward
        self._resources: dict[str, PhysicalResource] = {}
        self._outputs: dict[str, Any] = {}
        self._functions: dict[str, LocalFunction] = {}
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()
        self._invoke_client: Any = None
        self._handlers: moto_seams.HandlerRegistry | None = None
        self._session: boto3.session.Session | None = None
        self._session_lock = threading.Lock()
        self._endpoint_url: str | None = None
        self._poller: SqsEventSourcePoller | None = None
        self._teardown: contextlib.ExitStack | None = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def endpoint_url(self) -> str:
        if self._endpoint_url is None:
            raise LocalStackError("the local stack is not running")
        return self._endpoint_url

    @property
    def resources(self) -> Mapping[str, PhysicalResource]:
        return MappingProxyType(self._resources)

    @property
    def outputs(self) -> Mapping[str, Any]:
        return MappingProxyType(self._outputs)

    @property
    def functions(self) -> Mapping[str, LocalFunction]:
        return MappingProxyType(self._functions)

    def start(self) -> None:
        global _running_stack
        template = SamTemplate.load(self.template_path)
        parameter_values = template.parameter_values(self.parameters)
        with _running_lock:
            if _running_stack is not None:
                raise LocalStackError("another LocalStack is already running in this process")
            _running_stack = self
        teardown = contextlib.ExitStack()
        teardown.callback(self._release_process)
        try:
            self._start(template, parameter_values, teardown)
        except BaseException:
            teardown.close()
            raise
        self._teardown = teardown

    def _release_process(self) -> None:
        global _running_stack
        with _running_lock:
            _running_stack = None

    def _start(
        self,
        template: SamTemplate,
        parameter_values: Mapping[str, str | list[str]],
        teardown: contextlib.ExitStack,
    ) -> None:
        teardown.enter_context(_quiet_request_log())
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        teardown.callback(server.stop)
        host, port = server.get_host_and_port()
        self._endpoint_url = f"http://{host}:{port}"
        teardown.callback(self._forget_endpoint)
        base_environment = {
            "AWS_ENDPOINT_URL": self._endpoint_url,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "AWS_ACCESS_KEY_ID": _CREDENTIAL,
            "AWS_SECRET_ACCESS_KEY": _CREDENTIAL,
            "AWS_SESSION_TOKEN": _CREDENTIAL,
            # Moto's Step Functions interpreter calls Lambda on localhost at this port.
            "MOTO_PORT": str(port),
        }
        teardown.enter_context(_environment(base_environment))
        # boto3's default session may have resolved credentials before the variables above were set.
        boto3.DEFAULT_SESSION = None
        teardown.callback(setattr, boto3, "DEFAULT_SESSION", None)
        registry = moto_seams.HandlerRegistry()
        teardown.enter_context(moto_seams.applied(registry, fast_forward=self.fast_forward))
        self._handlers = registry
        # Moto's backends are process-wide: start without an earlier stack's resources, leave none behind.
        self._reset_moto()
        teardown.callback(self._reset_moto)

        # Only once the environment points here: the transform's session must not read a displaced profile.
        transformed = template.transform(parameter_values, self._boto_session())
        provisioner = self._provision(transformed, parameter_values)
        functions = list(provisioner.functions.values())
        function_environment = merged_function_environment(functions)
        clashes = sorted(set(function_environment) & set(base_environment))
        if clashes:
            raise EnvironmentConflictError(
                f"functions set {', '.join(clashes)}, which the local runtime sets to reach the moto server"
            )
        teardown.enter_context(_environment(function_environment))
        handlers = _LoadedHandlers()
        teardown.callback(handlers.unload)
        for function in functions:
            registry.register(function.name, handlers.load(function))
        self._functions = {function.logical_id: function for function in functions}
        self._invoke_client = self._new_client("lambda", _INVOKE_CONFIG)
        self._poller = SqsEventSourcePoller(
            provisioner.event_sources, self.client, self._invoke_client, self.region
        )
        teardown.callback(self._stop_running_executions)
        teardown.callback(self.stop_event_source_pollers)

    def _forget_endpoint(self) -> None:
        self._endpoint_url = None
        self._session = None
        self._invoke_client = None
        self._handlers = None
        self._clients.clear()
        self._resources.clear()
        self._outputs.clear()
        self._functions.clear()
        self._poller = None

    def _reset_moto(self) -> None:
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request) as response:
            response.read()

    def _provision(
        self, template: CloudFormationTemplate, parameter_values: Mapping[str, str | list[str]]
    ) -> ResourceProvisioner:
        account_id = self.client("sts").get_caller_identity()["Account"]
        pseudo_parameters = {
            "AWS::AccountId": account_id,
            "AWS::Region": self.region,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{self.region}:{account_id}:stack/{self.stack_name}/"
            f"{uuid.uuid5(uuid.NAMESPACE_URL, self.stack_name)}",
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        resolver = IntrinsicResolver(template, parameter_values, pseudo_parameters, self._resources)
        active = {
            logical_id
            for logical_id, resource in template.resources.items()
            if "Condition" not in resource or resolver.condition(resource["Condition"])
        }
        provisioner = ResourceProvisioner(
            self.client,
            stack_name=self.stack_name,
            region=self.region,
            account_id=account_id,
            template=template,
        )
        known_names = {*parameter_values, *pseudo_parameters, "AWS::NoValue"}
        for logical_id in template.creation_order(active, known_names):
            resource = template.resources[logical_id]
            properties = resolver.resolve(resource["Properties"], f"Resources.{logical_id}.Properties")
            self._resources[logical_id] = provisioner.provision(logical_id, resource["Type"], properties)
        for name, output in template.outputs.items():
            if "Condition" not in output or resolver.condition(output["Condition"]):
                self._outputs[name] = resolver.resolve(output.get("Value"), f"Outputs.{name}.Value")
        return provisioner

    def stop(self) -> None:
        """Stop pollers, unload handlers, remove the seams, stop the server and restore the environment."""
        teardown, self._teardown = self._teardown, None
        if teardown is not None:
            teardown.close()

    def client(self, service: str) -> Any:
        """A boto3 client for `service` against the local endpoint (cached; boto3 clients are thread-safe)."""
        with self._clients_lock:
            if service not in self._clients:
                self._clients[service] = self._new_client(service)
            return self._clients[service]

    def _new_client(self, service: str, config: Config | None = None) -> Any:
        # Explicit endpoint and credentials: the clients work whatever os.environ holds. One session shares
        # its loaded service models between clients; sessions are not thread-safe, hence the lock.
        session = self._boto_session()
        with self._session_lock:
            return session.client(service, endpoint_url=self.endpoint_url, config=config)

    def _boto_session(self) -> boto3.session.Session:
        with self._session_lock:
            if self._session is None:
                self._session = boto3.session.Session(
                    aws_access_key_id=_CREDENTIAL,
                    aws_secret_access_key=_CREDENTIAL,
                    aws_session_token=_CREDENTIAL,
                    region_name=self.region,
                )
            return self._session

    def _invoker(self) -> Any:
        if self._invoke_client is None:
            raise LocalStackError("the local stack is not running")
        return self._invoke_client

    def register_function(
        self, function_name: str, handler: moto_seams.LambdaHandler, *, timeout_seconds: int = 60
    ) -> str:
        """Create the Lambda function `function_name`, whose invocations run `handler(event, context)` in this
        process as the template's functions do: a function of the user's own, such as the one a `lambda`
        check invokes. It lives as long as the stack runs. Returns its ARN."""
        if self._handlers is None:
            raise LocalStackError("the local stack is not running")
        if self._handlers.lookup(function_name) is not None:
            raise LocalStackError(f"a handler already runs for the Lambda function {function_name!r}")
        role = self.client("iam").create_role(
            RoleName=physical_name(self.stack_name, function_name, 64, "-role"),
            AssumeRolePolicyDocument=_LAMBDA_TRUST_POLICY,
        )["Role"]
        arn = self.client("lambda").create_function(
            FunctionName=function_name,
            Runtime="python3.13",
            Role=role["Arn"],
            Handler="in_process.handler",
            Code={"ZipFile": placeholder_package()},
            Timeout=timeout_seconds,
        )["FunctionArn"]
        self._handlers.register(function_name, handler)
        return arn

    def put_events(self, entries: Sequence[Mapping[str, Any]]) -> list[str]:
        """PutEvents on the local EventBridge; returns the event ids. Rules deliver to their SQS targets."""
        response = self.client("events").put_events(Entries=[dict(entry) for entry in entries])
        if response["FailedEntryCount"]:
            failures = [
                f"entry {index}: {result.get('ErrorCode')} {result.get('ErrorMessage')}"
                for index, result in enumerate(response["Entries"])
                if "ErrorCode" in result
            ]
            raise LocalStackError(
                f"PutEvents rejected {response['FailedEntryCount']} entries: {'; '.join(failures)}"
            )
        return [result["EventId"] for result in response["Entries"]]

    def invoke(self, function: str, event: Any) -> Any:
        """Invoke a function (logical id, name or ARN) synchronously through the Lambda API; returns its
        decoded result or raises FunctionInvocationError with the Lambda error payload."""
        local = self._functions.get(function)
        function_name = local.name if local else function
        response = self._invoker().invoke(FunctionName=function_name, Payload=json.dumps(event).encode())
        body = response["Payload"].read()
        payload = json.loads(body) if body else None
        if "FunctionError" in response:
            error = payload if isinstance(payload, dict) else {}
            raise FunctionInvocationError(
                function_name, str(error.get("errorType")), str(error.get("errorMessage")), payload
            )
        return payload

    def _event_poller(self) -> SqsEventSourcePoller:
        if self._poller is None:
            raise LocalStackError("the local stack is not running")
        return self._poller

    def drain_event_sources(self, timeout: float) -> int:
        """Serve every SQS event source mapping until its queue is empty; returns the messages handled.
        Raises EventSourceDrainTimeout if messages remain after `timeout` seconds."""
        return self._event_poller().drain(timeout)

    def start_event_source_pollers(self) -> None:
        """Serve the SQS event source mappings in background threads until stop_event_source_pollers/stop."""
        self._event_poller().start_background()

    def stop_event_source_pollers(self) -> None:
        if self._poller is not None:
            self._poller.stop_background()

    def running_executions(self) -> list[str]:
        """ARNs of the RUNNING executions of every state machine on the local endpoint."""
        stepfunctions = self.client("stepfunctions")
        running: list[str] = []
        for machines in stepfunctions.get_paginator("list_state_machines").paginate():
            for machine in machines["stateMachines"]:
                pages = stepfunctions.get_paginator("list_executions").paginate(
                    stateMachineArn=machine["stateMachineArn"], statusFilter="RUNNING"
                )
                running.extend(
                    execution["executionArn"] for page in pages for execution in page["executions"]
                )
        return running

    def _stop_running_executions(self) -> None:
        # Moto's execution threads outlive the server; stopped, they cannot call into a later stack.
        stepfunctions = self.client("stepfunctions")
        for execution_arn in self.running_executions():
            stepfunctions.stop_execution(executionArn=execution_arn, cause="the local stack stopped")

    def wait_for_executions(self, timeout: float) -> None:
        """Wait until no state machine execution is RUNNING. Executions waiting on work
        from an SQS-triggered function need the event source pollers running in the background."""
        deadline = time.monotonic() + timeout
        while running := self.running_executions():
            if time.monotonic() >= deadline:
                raise ExecutionsStillRunning(
                    f"after {timeout} s these executions still run: {', '.join(running)}"
                )
            time.sleep(_EXECUTION_POLL_SECONDS)
