"""Builds release.asl.json, the state machine of one release.

ASL has no subroutines, and the release runs the same gate loop (hooks and checks: evaluate, then wait,
run CodeBuild or a state machine, and evaluate again) at six points. The loop is defined once here and
instantiated per stage; `python statemachines/release_asl.py` rewrites the JSON, and a test keeps the
two in step.

Per environment, the happy path is 7 transitions: AwaitDependencies, PreGates, PreGatesRoute, Promote,
PostGates, PostGatesRoute, RecordSuccess (Wait states and integrations come on top, only when used).
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from promotions.config.models import MAX_PROMOTION_TIMEOUT

ASL_FILE = Path(__file__).with_name("release.asl.json")

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
LAMBDA_SERVICE_ERRORS = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]
# Step Functions matches exact error names, not base classes: every function raises a failure that a retry
# may cure under this one name (promotions.errors.TransientError); any other error is terminal and goes to
# the state's Catch with its own name and reason.
TRANSIENT_ERROR = "TransientError"
# A gate that said no: the environment (or release) fails with the check's reason.
GATE_FAILED = "GateFailed"
# The gate answered an environment's token with a failure: the release failed before it could start.
NOT_STARTED = "EnvironmentNotStarted"
# A gate would wait past the flow's promotionTimeoutLimit: the release is terminated (release/termination.py).
TIMED_OUT = "PromotionTimedOut"
# Another release of the product writes to the environment: Promote waits for its lock, retrying by this name.
ENVIRONMENT_LOCKED = "EnvironmentLocked"
# The hard limit of one execution: past the longest promotionTimeoutLimit, a day for the onFail hooks.
EXECUTION_TIMEOUT = MAX_PROMOTION_TIMEOUT + timedelta(days=1)

Payload = dict[str, Any]


def retries(*, interval: int = 2, attempts: int = 4, jitter: bool = False) -> list[dict[str, Any]]:
    """The Lambda service's own failures, then the function's transient ones at `interval` s, doubling."""
    transient: dict[str, Any] = {
        "ErrorEquals": [TRANSIENT_ERROR],
        "IntervalSeconds": interval,
        "MaxAttempts": attempts,
        "BackoffRate": 2,
    }
    if jitter:
        transient["JitterStrategy"] = "FULL"
    return [
        {"ErrorEquals": LAMBDA_SERVICE_ERRORS, "IntervalSeconds": 2, "MaxAttempts": 4, "BackoffRate": 2},
        transient,
    ]


# The bookkeeping states have no Catch: a record that cannot be written leaves the release unsettled, so
# they try longer.
BOOKKEEPING_RETRIES = retries(attempts=6)


def lambda_task(
    function: str, payload: Payload, *, next_state: str | None = None, **fields: Any
) -> dict[str, Any]:
    state: dict[str, Any] = {
        "Type": "Task",
        "Resource": LAMBDA_INVOKE,
        "Parameters": {"FunctionName": f"${{{function}}}", "Payload": payload},
        "Retry": retries(),
        **fields,
    }
    if next_state is None:
        state.setdefault("End", True)
    else:
        state["Next"] = next_state
    return state


def gate_loop(
    name: str,
    stage: str,
    state_path: str,
    *,
    context: Payload,
    done: str,
    failed: str,
    timed_out: str | None = None,
    approvals: bool = False,
) -> dict[str, Any]:
    """Evaluate a stage's hooks and checks until they pass (→ done), one fails (→ failed) or one would wait
    past the flow's promotionTimeoutLimit (→ timed_out; onFail hooks, which run after a failure, have none).

    The gate function answers `next`: done, wait (for waitSeconds), codebuild or stateMachine (run the
    integration with `parameters`, then evaluate again with its result). `state_path` keeps the stage's
    progress between evaluations; it starts as {}.
    """
    route, wait, codebuild, child = f"{name}Route", f"{name}Wait", f"{name}CodeBuild", f"{name}StateMachine"
    catch_to_failed = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": failed}]
    if timed_out is not None:
        catch_to_failed.insert(0, {"ErrorEquals": [TIMED_OUT], "ResultPath": "$.error", "Next": timed_out})
    integration_result = f"{state_path}.integrationResult"
    catch_integration = [{"ErrorEquals": ["States.ALL"], "ResultPath": integration_result, "Next": name}]
    states: dict[str, Any] = {
        name: lambda_task(
            "EvaluateGatesFunctionArn",
            {**context, "stage": stage, "state.$": state_path},
            next_state=route,
            ResultSelector={
                "next.$": "$.Payload.next",
                "waitSeconds.$": "$.Payload.waitSeconds",
                "parameters.$": "$.Payload.parameters",
                "progress.$": "$.Payload.progress",
            },
            ResultPath=state_path,
            Retry=retries(interval=5, attempts=5, jitter=True),
            Catch=catch_to_failed,
        ),
        route: {
            "Type": "Choice",
            "Choices": [
                {"Variable": f"{state_path}.next", "StringEquals": "wait", "Next": wait},
                {"Variable": f"{state_path}.next", "StringEquals": "codebuild", "Next": codebuild},
                {"Variable": f"{state_path}.next", "StringEquals": "stateMachine", "Next": child},
            ],
            "Default": done,
        },
        wait: {"Type": "Wait", "SecondsPath": f"{state_path}.waitSeconds", "Next": name},
        codebuild: {
            "Type": "Task",
            "Resource": "arn:aws:states:::codebuild:startBuild.sync",
            "Parameters": {
                "ProjectName.$": f"{state_path}.parameters.ProjectName",
                "EnvironmentVariablesOverride.$": f"{state_path}.parameters.EnvironmentVariablesOverride",
            },
            "ResultSelector": {"Build.$": "$.Build"},
            "ResultPath": integration_result,
            "Catch": catch_integration,
            "Next": name,
        },
        child: {
            "Type": "Task",
            "Resource": "arn:aws:states:::states:startExecution.sync:2",
            "Parameters": {
                "StateMachineArn.$": f"{state_path}.parameters.StateMachineArn",
                "Input.$": f"{state_path}.parameters.Input",
            },
            "ResultSelector": {
                "Status.$": "$.Status",
                "Output.$": "$.Output",
                "ExecutionArn.$": "$.ExecutionArn",
            },
            "ResultPath": integration_result,
            "Catch": catch_integration,
            "Next": name,
        },
    }
    if approvals:
        states[route]["Choices"].append(
            {"Variable": f"{state_path}.next", "StringEquals": "approval", "Next": f"{name}Approval"}
        )
        states |= approval_wait(name, state_path, context=context)
    return states


def approval_wait(name: str, state_path: str, *, context: Payload) -> dict[str, Any]:
    """An approval check's wait: the approvals function asks (the Slack message, the environment Suspended)
    and returns at once; the task waits on its token, which the approval answers with the approvers or fails
    with who rejected and why. Past the approval's timeout the task times out, and the approvals function
    records that before the gate reports it. Either way the gate evaluates again with the outcome."""
    wait, expired = f"{name}Approval", f"{name}ApprovalExpired"
    integration_result = f"{state_path}.integrationResult"
    return {
        wait: lambda_task(
            "ApprovalsFunctionArn",
            {
                **context,
                "action": "request",
                "parameters.$": f"{state_path}.parameters",
                "taskToken.$": "$$.Task.Token",
            },
            next_state=name,
            Resource="arn:aws:states:::lambda:invoke.waitForTaskToken",
            TimeoutSecondsPath=f"{state_path}.parameters.timeoutSeconds",
            ResultPath=integration_result,
            Catch=[
                {"ErrorEquals": ["States.Timeout"], "ResultPath": None, "Next": expired},
                {"ErrorEquals": ["States.ALL"], "ResultPath": integration_result, "Next": name},
            ],
        ),
        expired: lambda_task(
            "ApprovalsFunctionArn",
            {**context, "action": "expire"},
            next_state=name,
            ResultSelector={"Error.$": "$.Payload.Error", "Cause.$": "$.Payload.Cause"},
            ResultPath=integration_result,
            Retry=BOOKKEEPING_RETRIES,
        ),
    }


def environment_iteration() -> dict[str, Any]:
    env = {"releaseId.$": "$.releaseId", "environment.$": "$.environment"}
    record_failure_then_hooks = "RecordFailure"
    states: dict[str, Any] = {
        "AwaitDependencies": lambda_task(
            "GateEnvironmentFunctionArn",
            {**env, "taskToken.$": "$$.Task.Token"},
            next_state="PreGates",
            Resource="arn:aws:states:::lambda:invoke.waitForTaskToken",
            ResultPath=None,
            Catch=[
                {"ErrorEquals": [NOT_STARTED], "ResultPath": None, "Next": "NotStarted"},
                {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": record_failure_then_hooks},
            ],
        ),
        "NotStarted": {
            "Type": "Succeed",
            "Comment": (
                "The release failed before this environment's dependencies were met (recorded as Terminated), or a "
                "dependency was superseded by a newer release (recorded as Superseded)."
            ),
        },
        **gate_loop(
            "PreGates",
            "pre",
            "$.gates.pre",
            context=env,
            done="Promote",
            failed=record_failure_then_hooks,
            timed_out="TerminateOnTimeout",
            approvals=True,
        ),
        "Promote": lambda_task(
            "PromoteEnvironmentFunctionArn",
            env,
            next_state="PostGates",
            ResultPath=None,
            # A retry reuses what landed: the promotion branch and an open pull request, or the pushed commit.
            # Waiting for another release's push to end: about 12 minutes, past the lock's 6-minute lease.
            Retry=[
                *retries(interval=3, attempts=5, jitter=True),
                {
                    "ErrorEquals": [ENVIRONMENT_LOCKED],
                    "IntervalSeconds": 2,
                    "MaxAttempts": 40,
                    "BackoffRate": 1.5,
                    "MaxDelaySeconds": 20,
                },
            ],
            Catch=[
                {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": record_failure_then_hooks}
            ],
        ),
        **gate_loop(
            "PostGates",
            "post",
            "$.gates.post",
            context=env,
            done="RecordSuccess",
            failed=record_failure_then_hooks,
            timed_out="TerminateOnTimeout",
            approvals=True,
        ),
        "TerminateOnTimeout": lambda_task(
            "FinishReleaseFunctionArn",
            {**env, "action": "timeout", "error.$": "$.error"},
            next_state="TerminatedOnTimeout",
            ResultPath=None,
            Retry=BOOKKEEPING_RETRIES,
        ),
        "TerminatedOnTimeout": {
            "Type": "Succeed",
            "Comment": "The release is terminated: this execution is stopped, another finishes the release.",
        },
        "RecordSuccess": lambda_task(
            "CompleteEnvironmentFunctionArn",
            {**env, "succeeded": True},
            ResultPath=None,
            Retry=BOOKKEEPING_RETRIES,
        ),
        "RecordFailure": lambda_task(
            "CompleteEnvironmentFunctionArn",
            {**env, "succeeded": False, "error.$": "$.error"},
            next_state="FailureHooks",
            ResultPath=None,
            Retry=BOOKKEEPING_RETRIES,
        ),
        **gate_loop(
            "FailureHooks",
            "failed",
            "$.gates.failed",
            context=env,
            done="EnvironmentFailed",
            failed="EnvironmentFailed",
        ),
        "EnvironmentFailed": {
            "Type": "Succeed",
            "Comment": "Recorded as Failed; the release settles as Failed once every environment is done.",
        },
    }
    return {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "AwaitDependencies", "States": states}


def release_definition() -> dict[str, Any]:
    release = {"releaseId.$": "$.releaseId"}
    to_error = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "RecordReleaseError"}]
    states: dict[str, Any] = {
        "StartOrTerminate": {
            "Type": "Choice",
            "Comment": "An execution started to finish a Terminating release runs its onFail hooks and closes it.",
            "Choices": [
                {
                    "And": [
                        {"Variable": "$.terminate", "IsPresent": True},
                        {"Variable": "$.terminate", "BooleanEquals": True},
                    ],
                    "Next": "BeginTermination",
                }
            ],
            "Default": "StartRelease",
        },
        "BeginTermination": lambda_task(
            "FinishReleaseFunctionArn",
            {**release, "action": "terminate"},
            next_state="ReleaseFailureHooks",
            ResultSelector={"gates.$": "$.Payload.gates"},
            ResultPath="$.plan",
            Retry=BOOKKEEPING_RETRIES,
        ),
        "StartRelease": lambda_task(
            "StartReleaseFunctionArn",
            {**release, "retry.$": "$.retry", "execution.$": "$$.Execution.Name"},
            next_state="ReleaseStartHooks",
            ResultSelector={"environments.$": "$.Payload.environments", "gates.$": "$.Payload.gates"},
            ResultPath="$.plan",
            Catch=to_error,
        ),
        **gate_loop(
            "ReleaseStartHooks",
            "releaseStart",
            "$.plan.gates.releaseStart",
            context=release,
            done="PromoteEnvironments",
            failed="RecordReleaseError",
            timed_out="TerminateReleaseOnTimeout",
        ),
        "PromoteEnvironments": {
            "Type": "Map",
            "ItemsPath": "$.plan.environments",
            "ItemSelector": {
                "releaseId.$": "$.releaseId",
                "environment.$": "$$.Map.Item.Value",
                "gates": {"pre": {}, "post": {}, "failed": {}},
            },
            "MaxConcurrency": 0,
            "ItemProcessor": environment_iteration(),
            "ResultPath": None,
            "Catch": to_error,
            "Next": "SettleRelease",
        },
        "SettleRelease": lambda_task(
            "FinishReleaseFunctionArn",
            {**release, "action": "settle"},
            next_state="Settled",
            ResultSelector={"status.$": "$.Payload.status"},
            ResultPath="$.outcome",
            Retry=BOOKKEEPING_RETRIES,
        ),
        "Settled": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.outcome.status", "StringEquals": "Succeeded", "Next": "ReleaseSuccessHooks"}
            ],
            "Default": "ReleaseFailureHooks",
        },
        **gate_loop(
            "ReleaseSuccessHooks",
            "releaseSuccess",
            "$.plan.gates.releaseSuccess",
            context=release,
            done="CloseSucceeded",
            failed="RecordReleaseError",
            timed_out="TerminateReleaseOnTimeout",
        ),
        "TerminateReleaseOnTimeout": lambda_task(
            "FinishReleaseFunctionArn",
            {**release, "action": "timeout", "error.$": "$.error"},
            next_state="ReleaseTerminated",
            ResultPath=None,
            Retry=BOOKKEEPING_RETRIES,
        ),
        "RecordReleaseError": lambda_task(
            "FinishReleaseFunctionArn",
            {**release, "action": "fail", "error.$": "$.error"},
            next_state="ReleaseFailureHooks",
            ResultPath=None,
            Retry=BOOKKEEPING_RETRIES,
        ),
        **gate_loop(
            "ReleaseFailureHooks",
            "releaseFailed",
            "$.plan.gates.releaseFailed",
            context=release,
            done="CloseFailed",
            failed="CloseFailed",
        ),
        "CloseSucceeded": lambda_task(
            "FinishReleaseFunctionArn",
            {**release, "action": "close", "succeeded": True},
            next_state="ReleaseSucceeded",
            ResultPath=None,
            Retry=BOOKKEEPING_RETRIES,
        ),
        "CloseFailed": lambda_task(
            "FinishReleaseFunctionArn",
            {**release, "action": "close", "succeeded": False},
            next_state="Closed",
            ResultSelector={"status.$": "$.Payload.status"},
            ResultPath="$.outcome",
            Retry=BOOKKEEPING_RETRIES,
        ),
        "Closed": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.outcome.status", "StringEquals": "Terminated", "Next": "ReleaseTerminated"}
            ],
            "Default": "ReleaseFailed",
        },
        "ReleaseSucceeded": {"Type": "Succeed"},
        "ReleaseTerminated": {
            "Type": "Fail",
            "Error": "ReleaseTerminated",
            "Cause": "The release was terminated; the release record says by whom.",
        },
        "ReleaseFailed": {
            "Type": "Fail",
            "Error": "ReleaseFailed",
            "Cause": "An environment, check or hook failed; the release record holds the reasons.",
        },
    }
    return {
        "Comment": (
            "One release: promote a product version through the flow's environments. Generated by "
            "statemachines/release_asl.py; edit that file, not this one. Every environment runs in its own Map "
            "iteration and waits (task token) until its dependsOn succeeded, so an environment starts as soon as "
            "its own dependencies are done and siblings run in parallel."
        ),
        "StartAt": "StartOrTerminate",
        "TimeoutSeconds": int(EXECUTION_TIMEOUT.total_seconds()),
        "States": states,
    }


def render() -> str:
    return json.dumps(release_definition(), indent=2) + "\n"


if __name__ == "__main__":
    ASL_FILE.write_text(render())
