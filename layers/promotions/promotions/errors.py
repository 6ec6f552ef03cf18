"""One rule for every failure: transient (the same call may succeed later) or terminal (it never will).

Transience is a property of the error's class: every error of the engine that a retry may cure derives from
TransientError. Failures of AWS calls are judged by botocore's own retry rules (throttling, 5xx, connection
errors), seen through the wrappers pynamodb and Powertools put around them. Each entry point applies the rule
once, at its edge: a Step Functions task raises every transient failure under the one name the state machine
retries, `TransientError` (`raising_transient_as_one_name`); the ingest function retries a transient failure
through SQS and dead-letters anything else at once. Everything that is not transient is terminal.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from botocore.retries.standard import BaseRetryableChecker


class TransientError(Exception):
    """The base of every failure a later retry of the same call may cure: a server that failed or could not
    be reached, a race lost to other writers. Raised as such at a Step Functions task's edge, the one error
    name the state machine retries."""


@functools.cache
def _aws_retry_checkers() -> tuple[BaseRetryableChecker, ...]:
    from botocore.retries.standard import ThrottledRetryableChecker, TransientRetryableChecker

    return (TransientRetryableChecker(), ThrottledRetryableChecker())


def is_transient(error: BaseException) -> bool:
    """Whether retrying the call that raised `error` later may succeed."""
    # Imported here, on a failure, for cold start (every handler imports this module): the idempotency utility
    # brings boto3 and its DynamoDB layer, which only ingest uses; botocore's retry rules bring much of
    # botocore, which ingest does not load before its first push.
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyPersistenceLayerError,
    )
    from botocore.exceptions import ClientError
    from botocore.retries.standard import RetryContext
    from pynamodb.exceptions import PynamoDBException

    if isinstance(error, (TransientError, IdempotencyAlreadyInProgressError)):
        # Another delivery of the same event is being handled: it is settled by the time a retry comes.
        return True
    # Errors that carry the failure of the call they made as their cause.
    if isinstance(error, (PynamoDBException, IdempotencyPersistenceLayerError)):
        wrapped = error.cause if isinstance(error, PynamoDBException) else error.__cause__
        return wrapped is not None and is_transient(wrapped)
    response = error.response if isinstance(error, ClientError) else None
    if response is not None and response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500:
        return True
    context = RetryContext(attempt_number=1, parsed_response=response, caught_exception=error)
    return any(checker.is_retryable(context) for checker in _aws_retry_checkers())


def failure_reason(error: BaseException) -> str:
    """`ErrorClass: message`, the reason an operator reads."""
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def raising_transient_as_one_name[**P, R](handler: Callable[P, R]) -> Callable[P, R]:
    """A Lambda handler that raises every transient failure as TransientError (naming the original), so that
    the state machine's Retry, which matches exact error names, needs that one name; terminal failures pass
    unchanged and reach the state machine's Catch with their own name and reason."""

    @functools.wraps(handler)
    def edge(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return handler(*args, **kwargs)
        except Exception as error:
            if type(error) is TransientError or not is_transient(error):
                raise
            raise TransientError(failure_reason(error)) from error

    return edge
