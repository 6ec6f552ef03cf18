import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from promotions_local.stack import LocalStack

FIXTURE_TEMPLATE = Path(__file__).parent / "fixtures" / "stack" / "template.yaml"
FIXTURE_PARAMETERS = {"Greeting": "hi", "Stage": "demo", "WithSecret": "yes"}


@pytest.fixture(scope="session")
def fixture_template() -> Path:
    return FIXTURE_TEMPLATE


@pytest.fixture(scope="module")
def fixture_stack() -> Iterator[LocalStack]:
    """The fixture template's stack, running for one test module (one LocalStack per process at a time)."""
    with LocalStack(FIXTURE_TEMPLATE, parameters=FIXTURE_PARAMETERS) as stack:
        yield stack


@pytest.fixture
def run_execution(fixture_stack: LocalStack) -> Callable[[str, str, Any], dict[str, Any]]:
    """Start a named execution, wait until no execution runs, and return its description."""

    def run(state_machine_arn: str, name: str, execution_input: Any) -> dict[str, Any]:
        stepfunctions = fixture_stack.client("stepfunctions")
        execution_arn = stepfunctions.start_execution(
            stateMachineArn=state_machine_arn, name=name, input=json.dumps(execution_input)
        )["executionArn"]
        fixture_stack.wait_for_executions(timeout=60)
        return stepfunctions.describe_execution(executionArn=execution_arn)

    return run


@pytest.fixture
def create_state_machine(fixture_stack: LocalStack) -> Callable[[str, dict[str, Any]], str]:
    """Create an ad-hoc state machine on the fixture stack's endpoint; returns its ARN."""

    def create(name: str, definition: dict[str, Any]) -> str:
        return fixture_stack.client("stepfunctions").create_state_machine(
            name=name,
            definition=json.dumps(definition),
            roleArn=fixture_stack.resources["FlowStateMachineRole"].arn,
        )["stateMachineArn"]

    return create
