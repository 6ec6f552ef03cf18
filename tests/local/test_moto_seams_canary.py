"""Canaries for moto's private internals that moto_seams patches: they fail loudly when moto moves them.

Runs with no LocalStack in the process, so every attribute inspected here is moto's own.
"""

import importlib.util
import inspect
import time

import moto
import pytest
from moto import settings
from moto.awslambda.models import LambdaFunction
from moto.core.config import default_user_config
from moto.dynamodb.models import DynamoDBBackend
from moto.events.utils import EventTemplateParser
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import (
    StateTaskService,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (
    StateTaskServiceCallback,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (
    StateTaskServiceSfn,
)
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.timestamp import Timestamp
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackEndpoint
from moto.stepfunctions.parser.asl.utils import boto_client
from moto.stepfunctions.parser.models import StepFunctionsParserBackend
from moto.stepfunctions.responses import StepFunctionResponse

from promotions_local import moto_seams


def parameter_names(function) -> list[str]:
    return list(inspect.signature(function).parameters)


def test_the_installed_moto_is_the_pinned_one():
    assert moto.__version__ == moto_seams.MOTO_VERSION


def test_importing_the_seams_on_another_moto_refuses_with_a_clear_message(monkeypatch):
    monkeypatch.setattr(moto, "__version__", "9.9.9")
    spec = importlib.util.spec_from_file_location("moto_seams_on_other_moto", moto_seams.__file__)
    module = importlib.util.module_from_spec(spec)

    with pytest.raises(
        RuntimeError, match=r"pinned to moto 5\.2\.5, but moto 9\.9\.9 is installed"
    ) as raised:
        spec.loader.exec_module(module)

    assert type(raised.value).__name__ == "MotoVersionMismatch"


def test_lambda_invoke_seam_target_exists_with_its_signature():
    assert LambdaFunction._invoke_lambda.__module__ == "moto.awslambda.models"
    assert parameter_names(LambdaFunction._invoke_lambda) == ["self", "event"]
    # Every Invoke, the Step Functions interpreter's included, reaches the container run through this call.
    assert "self._invoke_lambda(event=" in inspect.getsource(LambdaFunction.invoke)


def test_wait_seam_target_exists_with_its_signature():
    assert WaitFunction._wait_interval.__module__.startswith("moto.stepfunctions.parser")
    assert parameter_names(WaitFunction._wait_interval) == ["self", "env", "wait_seconds"]
    assert "self._wait_interval(env=env, wait_seconds=" in inspect.getsource(WaitFunction._eval_body)


def test_timestamp_seam_target_exists_with_what_the_replacement_uses():
    assert Timestamp._get_wait_seconds.__module__.startswith("moto.stepfunctions.parser")
    assert parameter_names(Timestamp._get_wait_seconds) == ["self", "env"]
    assert parameter_names(Timestamp._from_timestamp_string) == ["timestamp"]
    assert parameter_names(Timestamp._create_failure_event) == ["self", "env", "timestamp_str"]
    assert "string" in inspect.signature(Timestamp.__init__).parameters


def test_retry_seam_target_sleeps_through_the_module_time_reference():
    assert retrier_decl.time is time
    assert "time.sleep(interval_seconds)" in inspect.getsource(retrier_decl.RetrierDecl._eval_body)


def test_step_functions_execution_switch_and_lambda_endpoint_port_exist(monkeypatch):
    assert default_user_config["stepfunctions"]["execute_state_machine"] is False
    monkeypatch.setenv("MOTO_PORT", "54321")
    assert settings.moto_server_port() == "54321"
    assert "moto_server_port()" in inspect.getsource(boto_client.boto_client_for)


def test_event_delivery_seam_target_is_the_template_that_drops_account():
    """Moto's default input template has no `account`; when moto adds it, this seam can go."""
    template = EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE
    assert '"account"' not in template
    assert "account" in EventTemplateParser.DEFAULT_EVENT_INPUT_PATHS_MAP
    assert "DEFAULT_EVENT_INPUT_TEMPLATE" in inspect.getsource(EventTemplateParser.parse)


def test_sfn_integration_seam_targets_still_pass_names_through_untranslated():
    """Moto hands Step Functions integration parameters to boto3 as written and answers in boto3's spelling;
    when it translates them itself, these seams must go."""
    assert parameter_names(StateTaskServiceSfn._normalise_parameters) == [
        "self",
        "parameters",
        "boto_service_name",
        "service_action_name",
    ]
    assert "StateMachineArn" not in inspect.getsource(StateTaskServiceSfn._normalise_parameters)
    base_response = inspect.getsource(StateTaskService._normalise_response).rstrip()
    assert base_response.endswith("pass")
    assert "_normalise_response" not in vars(StateTaskServiceSfn)


def test_task_failure_seam_target_still_drops_the_cause_the_backend_takes():
    """Moto's SendTaskFailure handler passes the error alone, though its backend takes the cause; when the
    handler passes the cause, this seam can go."""
    handler = inspect.getsource(StepFunctionResponse.send_task_failure)
    assert '"error"' in handler and "cause" not in handler
    assert "cause" in parameter_names(StepFunctionsParserBackend.send_task_failure)


def test_token_wait_seam_target_waits_the_whole_timeout_on_the_endpoints_event():
    """Moto waits on a task token for TimeoutSeconds of the machine's time, in one wait on the endpoint's
    event, which an answer or a stopped execution sets; the seam waits on that event in slices."""
    assert parameter_names(StateTaskServiceCallback._wait_for_task_token_timeout) == [
        "self",
        "timeout_seconds",
        "callback_endpoint",
    ]
    assert "callback_endpoint.wait(" in inspect.getsource(
        StateTaskServiceCallback._wait_for_task_token_timeout
    )
    endpoint = CallbackEndpoint(callback_id="token")
    assert not endpoint._notify_event.is_set() and endpoint.get_outcome() is None
    endpoint.interrupt_all()
    assert endpoint._notify_event.is_set() and endpoint.get_outcome() is None


def test_dynamodb_seam_targets_are_the_backend_writes_and_take_no_lock_of_their_own():
    """When moto serialises writes itself, the atomic-writes seam can go."""
    for name in ("put_item", "update_item", "delete_item", "transact_write_items"):
        source = inspect.getsource(getattr(DynamoDBBackend, name))
        assert "lock" not in source.lower(), name
    original = DynamoDBBackend.update_item
    with moto_seams.atomic_dynamodb_writes():
        assert DynamoDBBackend.update_item.__wrapped__ is original
    assert DynamoDBBackend.update_item is original


def test_applying_the_seams_patches_and_restores_every_target():
    originals = (
        LambdaFunction._invoke_lambda,
        WaitFunction._wait_interval,
        Timestamp._get_wait_seconds,
        retrier_decl.time,
        EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE,
        StateTaskServiceSfn._normalise_parameters,
        StateTaskServiceSfn._normalise_response,
        StepFunctionResponse.send_task_failure,
        StateTaskServiceCallback._wait_for_task_token_timeout,
    )

    with moto_seams.applied(moto_seams.HandlerRegistry()):
        patched = (
            LambdaFunction._invoke_lambda,
            WaitFunction._wait_interval,
            Timestamp._get_wait_seconds,
            retrier_decl.time,
            EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE,
            StateTaskServiceSfn._normalise_parameters,
            StateTaskServiceSfn._normalise_response,
            StepFunctionResponse.send_task_failure,
            StateTaskServiceCallback._wait_for_task_token_timeout,
        )
        assert default_user_config["stepfunctions"]["execute_state_machine"] is True
        with (
            pytest.raises(RuntimeError, match="already applied"),
            moto_seams.applied(moto_seams.HandlerRegistry()),
        ):
            pass

    assert all(now is not before for now, before in zip(patched, originals, strict=True))
    assert (
        LambdaFunction._invoke_lambda,
        WaitFunction._wait_interval,
        Timestamp._get_wait_seconds,
        retrier_decl.time,
        EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE,
        StateTaskServiceSfn._normalise_parameters,
        StateTaskServiceSfn._normalise_response,
        StepFunctionResponse.send_task_failure,
        StateTaskServiceCallback._wait_for_task_token_timeout,
    ) == originals
    assert default_user_config["stepfunctions"]["execute_state_machine"] is False
