"""Step Functions: start a release's execution, answer a parked task token."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

logger = Logger(child=True)

# Answering a token that was answered already, timed out, or whose execution ended is not our failure.
_STALE_TOKEN_ERRORS = {"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"}


def termination_execution(release_id: str) -> str:
    """The name of the execution that finishes a terminated release."""
    return f"{release_id}-terminated"


class ReleaseExecutions:
    def __init__(self, client: Any, state_machine_arn: str) -> None:
        self._client = client
        self._state_machine_arn = state_machine_arn

    def start(self, release_id: str) -> bool:
        """Start the release's execution, named after the release; False when it already exists."""
        return self._start(release_id, release_id, retry=False)

    def retry(self, release_id: str, attempt: int) -> bool:
        """Run a failed release again, in an execution of its own (execution names are never reused)."""
        return self._start(release_id, f"{release_id}-retry-{attempt}", retry=True)

    def terminate(self, release_id: str) -> bool:
        """Finish a Terminating release (its onFail hooks, then Terminated) in an execution of its own."""
        return self._start(release_id, termination_execution(release_id), terminate=True)

    def stop(self, execution: str, cause: str) -> None:
        """Stop the execution named `execution`; one that ended already, or never started, is left alone."""
        try:
            # The cause is the release's reason; Step Functions takes at most 32,768 characters.
            self._client.stop_execution(
                executionArn=self._execution_arn(execution), error="ReleaseTerminated", cause=cause[:32768]
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ExecutionDoesNotExist":
                raise
            logger.info("no such execution to stop", extra={"execution": execution})

    def ended(self, execution: str) -> bool:
        """Whether the execution named `execution` ran and is no longer running; False for one never started."""
        try:
            found = self._client.describe_execution(executionArn=self._execution_arn(execution))
        except ClientError as error:
            if error.response["Error"]["Code"] != "ExecutionDoesNotExist":
                raise
            return False
        return found["status"] != "RUNNING"

    def _execution_arn(self, execution: str) -> str:
        return f"{self._state_machine_arn.replace(':stateMachine:', ':execution:', 1)}:{execution}"

    def _start(self, release_id: str, name: str, *, retry: bool = False, terminate: bool = False) -> bool:
        try:
            self._client.start_execution(
                stateMachineArn=self._state_machine_arn,
                name=name,
                input=json.dumps({"releaseId": release_id, "retry": retry, "terminate": terminate}),
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ExecutionAlreadyExists":
                return False
            raise
        return True


class StepFunctionsTaskTokens:
    def __init__(self, client: Any) -> None:
        self._client = client

    def answer(self, token: str, output: Mapping[str, Any]) -> None:
        try:
            self._client.send_task_success(taskToken=token, output=json.dumps(output))
        except ClientError as error:
            if error.response["Error"]["Code"] not in _STALE_TOKEN_ERRORS:
                raise
            logger.info("task token was already answered", extra={"error": error.response["Error"]["Code"]})

    def refuse(self, token: str, error: str, cause: str) -> None:
        try:
            self._client.send_task_failure(taskToken=token, error=error, cause=cause)
        except ClientError as failure:
            if failure.response["Error"]["Code"] not in _STALE_TOKEN_ERRORS:
                raise
            logger.info("task token was already answered", extra={"error": failure.response["Error"]["Code"]})
