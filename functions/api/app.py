"""HTTP API /api/v1: read products and releases, trigger a flow, promote one environment, retry a release.

Who calls is decided at this edge, from what the API in front of the function vouches for: an IAM (SigV4)
principal, the claims of a JWT authorizer, or the local server's token check. A request that names no caller is
answered 401 before anything is read or changed. Errors are RFC 9457 problem documents.
"""

# No `from __future__ import annotations`: Powertools and pydantic read the routes' and models' annotations at
# run time, and the module is loaded from its file, under a name of its own.
import functools
import hashlib
import uuid
from datetime import datetime
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Header, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from promotions.actions import PolicyAction
from promotions.config.errors import NoValidConfiguration
from promotions.errors import is_transient
from promotions.release.errors import (
    ApprovalClosed,
    ApprovalNotFound,
    ApprovalRefused,
    PermissionRefused,
    ProductNotFound,
    ReleaseAlreadyFinal,
    ReleaseNotFound,
    ReleaseNotRetryable,
    RequestRefused,
    RetryAlreadyStarted,
    RollbackRefused,
    UnknownPageToken,
    VersionNotFound,
)
from promotions.release.model import CheckStage, CheckState, FailureKind
from promotions.release.status import EnvironmentStatus, ReleaseStatus
from promotions.runtime import services, traced
from promotions.verbs import Verb

# The modules of the engine are imported by the routes that use them, for cold start: the configuration, the
# store (pynamodb) and the Git engine load with the first request that needs them, not with the function.
if TYPE_CHECKING:
    from promotions.release.manual import ManualReleases
    from promotions.release.permissions import Identity

logger = Logger()
PREFIX = "/api/v1"
OPENAPI_PATH = f"{PREFIX}/openapi.json"
PROBLEM = "application/problem+json"
app = APIGatewayHttpResolver(enable_validation=True)


class ApiModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, validate_by_name=True, from_attributes=True, frozen=True
    )


# Requests: unknown fields are refused, so a misspelt field is named rather than ignored.
class ApiRequest(ApiModel):
    model_config = ConfigDict(extra="forbid")


class TriggerRequest(ApiRequest):
    product: str = Field(min_length=1, description="The product whose flow runs.")
    flow: str | None = Field(
        None, min_length=1, description="One of the product's flows; its first if absent."
    )
    commit: str | None = Field(
        None,
        pattern="^[0-9a-f]{40}$",
        description="A full commit id of the trigger environment's branch; its tip if absent.",
    )


class PromotionRequest(ApiRequest):
    product: str = Field(min_length=1)
    environment: str = Field(min_length=1, description="The environment to promote.")
    from_release: str | None = Field(
        None, min_length=1, description="Promote what this earlier release of the product promoted."
    )
    from_environment: str | None = Field(
        None,
        min_length=1,
        description="Promote this environment's current commit; the step's first dependency if neither is given.",
    )
    action: PolicyAction | None = Field(
        None, description="commit, pr or none, instead of the action the environment's policy sets."
    )

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if self.from_release is not None and self.from_environment is not None:
            raise ValueError("give fromRelease or fromEnvironment, not both")
        return self


class TerminationRequest(ApiRequest):
    reason: str | None = Field(
        None, min_length=1, max_length=500, description="Told to the flow's onFail hooks."
    )


class RejectionRequest(ApiRequest):
    reason: str = Field(
        min_length=1,
        max_length=500,
        description="Why the promotion must not go on: the environment fails with it.",
    )


class RollbackRequest(ApiRequest):
    environment: str = Field(min_length=1, description="The environment to roll back.")
    to_release: str | None = Field(
        None,
        min_length=1,
        description="Restore what this release promoted; by default the release that changed the environment "
        "before the one it runs now.",
    )


# Answers.
class SourceView(ApiModel):
    repo_url: str
    branch: str
    commit: str


class PullRequestView(ApiModel):
    provider: str
    repo_url: str
    number: int
    url: str


class CheckView(ApiModel):
    name: str
    kind: str = Field(description="The check kind: http, soakTime, argoCdHealth, approval, ...")
    stage: CheckStage
    outcome: CheckState
    reason: str | None = Field(description="Why it failed, or what it waits for; null once passed.")
    first_evaluated_at: datetime
    last_evaluated_at: datetime
    attempts: int = Field(description="Evaluations since its first in this run of the environment's step.")


class ApprovalView(ApiModel):
    approver: str | None = Field(
        description="Null for an approval that ended unanswered (timed out, withdrawn)."
    )
    decision: str = Field(description="approved, rejected, timed out or withdrawn.")
    at: datetime | None = Field(description="When it was decided; null while short of its quorum.")
    reason: str | None


class FailureView(ApiModel):
    kind: FailureKind
    check: str | None = Field(description="The check or hook that said no, if one did.")
    message: str
    logs_url: str | None = Field(description="The log of the function that failed, where it is known.")


class EnvironmentView(ApiModel):
    name: str
    depends_on: tuple[str, ...]
    status: EnvironmentStatus
    commit: str | None
    committed_at: datetime | None
    reason: str | None
    started_at: datetime | None
    finished_at: datetime | None
    pull_requests: tuple[PullRequestView, ...]
    checks: tuple[CheckView, ...] = Field(
        description="Each check and hook of the environment's step, in the order it runs them, as last evaluated."
    )
    approvals: tuple[ApprovalView, ...] = Field(description="Oldest first.")
    failure: FailureView | None = Field(
        description="Why the environment failed or was terminated; null otherwise."
    )


class AuditView(ApiModel):
    at: datetime
    actor: str
    action: str
    detail: str
    outcome: Literal["allowed", "refused"] = Field(description="Whether the permissions let it through.")
    permission: str = Field(description="The rule that allowed the call, or the rule that was missing.")


class DecisionList(ApiModel):
    decisions: tuple[AuditView, ...] = Field(description="Newest first.")


class CallerPermissionsView(ApiModel):
    actor: str
    environments: dict[str, tuple[Verb, ...]] = Field(
        description="Per environment the product's flows promote, the verbs the caller may use there."
    )
    product: tuple[Verb, ...] = Field(description="The verbs the caller may use in every one of them.")


class ReleaseSummaryView(ApiModel):
    id: str
    product: str
    flow: str
    version: str
    trigger_environment: str
    status: ReleaseStatus
    reason: str | None
    created_at: datetime


class ReleaseView(ReleaseSummaryView):
    source: SourceView
    action: PolicyAction | None = Field(description="The action chosen for this promotion over the policy's.")
    config_revision: str
    environments: tuple[EnvironmentView, ...]
    audit: tuple[AuditView, ...] = Field(description="Who did what to the release, oldest first.")


class ReleaseList(ApiModel):
    releases: tuple[ReleaseSummaryView, ...]
    next: str | None = Field(description="Pass as `next` for the following page; null on the last page.")


class EnvironmentVersionView(ApiModel):
    environment: str
    version: str | None
    commit: str | None
    since: datetime | None
    release: str | None


class ProductView(ApiModel):
    product: str
    environments: tuple[EnvironmentVersionView, ...]


class ProductList(ApiModel):
    products: tuple[ProductView, ...]


# Drift and release notes (promotions.release.drift, promotions.release.notes).
class PropertyDriftView(ApiModel):
    repo_url: str
    branch: str
    file: str
    property: str = Field(description="The value's normalized JSONPath; `*` for a file promoted whole.")
    current: Any = Field(description="What the environment holds there; null where it holds nothing.")
    next: Any = Field(description="What the next promotion writes there: promotedFrom's value.")


class EnvironmentDriftView(ApiModel):
    environment: str
    promoted_from: str = Field(description="The step's first dependency, whose values a promotion takes.")
    changes: tuple[PropertyDriftView, ...] = Field(description="Empty when in sync.")


class ProductDriftView(ApiModel):
    product: str
    environments: tuple[EnvironmentDriftView, ...]


class NotedCommitView(ApiModel):
    commit: str
    author: str
    at: datetime
    subject: str
    issues: tuple[str, ...] = Field(description="The issue keys the message names: ABC-123, #123.")


class ReleaseNotesView(ApiModel):
    release: str
    previous_release: str | None = Field(
        description="The flow's release before this one from the same source; null for its first."
    )
    commits: tuple[NotedCommitView, ...] = Field(description="Newest first.")
    truncated: bool = Field(description="More commits belong to the release than are listed.")


class Problem(ApiModel):
    """RFC 9457."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: tuple[dict[str, str], ...] = ()


def caller(event: APIGatewayProxyEventV2) -> "Identity | None":
    """The caller the API in front of the function authenticated, or None.

    IAM (SigV4): the principal's ARN. A JWT authorizer: the token's email, else its subject, with its issuer,
    and its groups. A Lambda authorizer context (the local server's token check) names the caller under `actor`.
    """
    from promotions.release.permissions import Identity

    authorizer = event.request_context.authorizer
    if authorizer.iam.user_arn:
        return Identity(actor=authorizer.iam.user_arn, iam_principal=authorizer.iam.user_arn)
    claims = authorizer.jwt_claim
    subject = claims.get("email") or claims.get("sub")
    if subject:
        return Identity(
            actor=f"{subject} ({claims['iss']})" if claims.get("iss") else str(subject),
            jwt_subject=str(claims["sub"]) if claims.get("sub") else None,
            jwt_groups=_jwt_groups(claims),
        )
    actor = authorizer.get_lambda.get("actor")
    return Identity(actor=str(actor), token_holder=str(actor)) if actor else None


def _jwt_groups(claims: dict[str, Any]) -> frozenset[str]:
    """The token's `groups` (or Cognito's `cognito:groups`) claim. API Gateway hands a JWT authorizer's array
    claims over as one string, `[ops admins]`; a list is taken as it is."""
    groups = claims.get("groups", claims.get("cognito:groups"))
    if isinstance(groups, list):
        return frozenset(str(group) for group in groups)
    if isinstance(groups, str):
        return frozenset(groups.strip().removeprefix("[").removesuffix("]").replace(",", " ").split())
    return frozenset()


def _problem(status: HTTPStatus, detail: str, errors: tuple[dict[str, str], ...] = ()) -> Response:
    event = app.current_event
    problem = Problem(
        title=status.phrase,
        status=status.value,
        detail=detail,
        instance=event.path if event else None,
        errors=errors,
    )
    return Response(
        status_code=status.value,
        content_type=PROBLEM,
        body=problem.model_dump_json(by_alias=True, exclude_defaults=True),
    )


def _field(location: tuple[Any, ...]) -> str:
    """`body.fromRelease`, `query.limit`: where a bad value was, as the caller wrote it."""
    return ".".join(str(part) for part in location)


@app.exception_handler(RequestValidationError)
def invalid_request(error: RequestValidationError) -> Response:
    errors = tuple({"field": _field(e["loc"]), "problem": e["msg"]} for e in error.errors())
    detail = "; ".join(f"{e['field']}: {e['problem']}" for e in errors)
    return _problem(HTTPStatus.BAD_REQUEST, detail, errors)


@app.exception_handler(RequestRefused)
def refused(error: RequestRefused) -> Response:
    return _problem(
        HTTPStatus.BAD_REQUEST, str(error), ({"field": f"body.{error.field}", "problem": str(error)},)
    )


@app.exception_handler(UnknownPageToken)
def unknown_page(error: UnknownPageToken) -> Response:
    return _problem(
        HTTPStatus.BAD_REQUEST, f"next: {error}", ({"field": "query.next", "problem": str(error)},)
    )


@app.exception_handler(VersionNotFound)
def no_version(error: VersionNotFound) -> Response:
    return _problem(HTTPStatus.BAD_REQUEST, f"{error}: promote a commit that has it")


@app.exception_handler([ProductNotFound, ReleaseNotFound])
def not_found(error: LookupError) -> Response:
    return _problem(HTTPStatus.NOT_FOUND, str(error).strip("'\""))


@app.exception_handler(NotFoundError)
def no_route(_: NotFoundError) -> Response:
    event = app.current_event
    return _problem(
        HTTPStatus.NOT_FOUND,
        f"no route {event.http_method} {event.path}: the routes are listed in {OPENAPI_PATH}",
    )


@app.exception_handler([ApprovalRefused, PermissionRefused])
def forbidden(error: PermissionError) -> Response:
    return _problem(HTTPStatus.FORBIDDEN, str(error))


@app.exception_handler(ApprovalNotFound)
def no_open_approval(error: ApprovalNotFound) -> Response:
    return _problem(HTTPStatus.NOT_FOUND, str(error).strip("'\""))


@app.exception_handler(RollbackRefused)
def rollback_refused(error: RollbackRefused) -> Response:
    return _problem(HTTPStatus.BAD_REQUEST, str(error))


@app.exception_handler([ReleaseNotRetryable, RetryAlreadyStarted, ReleaseAlreadyFinal, ApprovalClosed])
def conflict(error: RuntimeError) -> Response:
    return _problem(HTTPStatus.CONFLICT, str(error))


@app.exception_handler(NoValidConfiguration)
def no_configuration(error: NoValidConfiguration) -> Response:
    logger.error("no valid configuration", extra={"error": str(error)})
    return _problem(
        HTTPStatus.SERVICE_UNAVAILABLE, f"{error}: fix the configuration repository, then ask again"
    )


@app.exception_handler(Exception)
def unexpected(error: Exception) -> Response:
    if is_transient(error):
        logger.warning("transient failure", extra={"error": repr(error)})
        return _problem(
            HTTPStatus.SERVICE_UNAVAILABLE, f"{error}; nothing was changed by this failure: ask again"
        )
    logger.exception("request failed")
    request_id = app.current_event.request_context.request_id if app.current_event else "unknown"
    return _problem(
        HTTPStatus.INTERNAL_SERVER_ERROR,
        f"the request failed inside the API ({type(error).__name__}); its log has request id {request_id}",
    )


def manual_releases() -> "ManualReleases":
    from promotions.release.manual import ManualReleases

    parts = services()
    return ManualReleases(parts.configs, parts.store, parts.executions, parts.remote)


def _identity() -> "Identity":
    return app.context["identity"]


def _request_key(idempotency_key: str | None) -> str:
    return idempotency_key or uuid.uuid4().hex


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="idempotency-key",
        max_length=200,
        description="The same key again returns the release the first request started, instead of another.",
    ),
]


@app.get(f"{PREFIX}/products", summary="Every product, with the version in each of its environments")
def list_products() -> ProductList:
    from promotions.release.reading import product_state

    parts = services()
    _, configuration = parts.configs.latest()
    return ProductList(
        products=tuple(
            ProductView.model_validate(product_state(configuration, parts.store, name))
            for name in configuration.products
        )
    )


@app.get(
    f"{PREFIX}/products/<product>", summary="Per environment: version, commit, since when, which release"
)
def get_product(product: str) -> ProductView:
    from promotions.release.reading import product_state

    parts = services()
    _, configuration = parts.configs.latest()
    return ProductView.model_validate(product_state(configuration, parts.store, product))


@app.get(
    f"{PREFIX}/products/<product>/permissions",
    summary="What the caller may do to the product: the verbs allowed per environment, and everywhere",
)
def get_permissions(product: str) -> CallerPermissionsView:
    _, configuration = services().configs.latest()
    if product not in configuration.products:
        raise ProductNotFound(f"there is no Product {product} in the configuration")
    from promotions.release.permissions import Rules

    return CallerPermissionsView.model_validate(Rules(configuration).allowed(_identity(), product))


@app.get(
    f"{PREFIX}/products/<product>/decisions",
    summary="Calls refused before they made a release of the product (trigger, promote, rollback), newest first",
)
def list_decisions(product: str, limit: Annotated[int, Query(ge=1, le=100)] = 50) -> DecisionList:
    entries = services().store.decisions(product, limit=limit)
    return DecisionList(decisions=tuple(AuditView.model_validate(entry) for entry in entries))


# Delivery metrics: the DORA keys (promotions.release.delivery_metrics).
class DeploymentFrequencyView(ApiModel):
    deployments: int = Field(description="Changes deployed to the product's prod environments in the period.")
    per_day: float


class DurationsView(ApiModel):
    median_seconds: float | None = Field(description="null without samples.")
    samples: int


class ChangeFailureRateView(ApiModel):
    failed: int = Field(description="Prod changes that failed or that a rollback of their environment undid.")
    total: int = Field(description="Prod changes that succeeded or failed in the period (not rollbacks).")
    rate: float | None = Field(description="failed / total; null without changes.")


class DeliveryMetricsView(ApiModel):
    product: str
    days: int
    since: datetime
    until: datetime
    deployment_frequency: DeploymentFrequencyView
    lead_time_for_changes: DurationsView = Field(
        description="From the release's creation (the push's arrival, or the request; the trigger commit's "
        "own time is not recorded) to the prod environment's success."
    )
    change_failure_rate: ChangeFailureRateView
    time_to_restore: DurationsView = Field(
        description="From a prod environment's failure to its next success (a fix, or a rollback)."
    )


@app.get(
    f"{PREFIX}/products/<product>/metrics",
    summary="The DORA keys of a product's prod environments over the last days",
)
def get_delivery_metrics(product: str, days: Annotated[int, Query(ge=1, le=365)] = 30) -> DeliveryMetricsView:
    parts = services()
    _, configuration = parts.configs.latest()
    from promotions.release.delivery_metrics import read_delivery_metrics

    metrics = read_delivery_metrics(configuration, parts.store, product, days=days)
    return DeliveryMetricsView.model_validate(metrics)


@app.get(f"{PREFIX}/releases", summary="Releases, newest first")
def list_releases(
    product: Annotated[str | None, Query(min_length=1)] = None,
    status: Annotated[ReleaseStatus | None, Query()] = None,
    flow: Annotated[str | None, Query(min_length=1)] = None,
    since: Annotated[
        datetime | None, Query(description="Created at or after (ISO 8601; UTC without an offset).")
    ] = None,
    until: Annotated[
        datetime | None, Query(description="Created before (ISO 8601; UTC without an offset).")
    ] = None,
    search: Annotated[
        str | None,
        Query(alias="q", min_length=1, max_length=100, description="A prefix of the version or the commit."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    next_token: Annotated[str | None, Query(alias="next", min_length=1, max_length=2048)] = None,
) -> ReleaseList:
    """A page reads `limit` releases and keeps those the filters match: it may hold fewer, and `next` goes on."""
    page = services().store.list_releases(
        product=product,
        status=status,
        flow=flow,
        since=since,
        until=until,
        search=search,
        limit=limit,
        next_token=next_token,
    )
    return ReleaseList(
        releases=tuple(ReleaseSummaryView.model_validate(release) for release in page.releases),
        next=page.next_token,
    )


@app.get(f"{PREFIX}/releases/<release_id>", summary="A release: its environments and its audit trail")
def get_release(release_id: str) -> ReleaseView:
    return ReleaseView.model_validate(services().store.get(release_id))


@app.get(
    f"{PREFIX}/products/<product>/drift",
    summary="Per environment, the promoted properties the next promotion from its first dependency would change",
)
def get_drift(product: str) -> ProductDriftView:
    parts = services()
    _, configuration = parts.configs.latest()
    from promotions.release.drift import product_drift

    return ProductDriftView.model_validate(product_drift(configuration, product, parts.remote))


@app.get(
    f"{PREFIX}/releases/<release_id>/notes",
    summary="The source's commits since the flow's previous release, with their authors and issue keys",
)
def get_release_notes(release_id: str) -> ReleaseNotesView:
    parts = services()
    from promotions.release.notes import release_notes

    return ReleaseNotesView.model_validate(release_notes(parts.store, parts.remote, release_id))


@app.post(f"{PREFIX}/releases", status_code=201, summary="Run a product's flow now")
def trigger(request: TriggerRequest, idempotency_key: IdempotencyKey = None) -> ReleaseView:
    release = manual_releases().trigger(
        request.product,
        flow=request.flow,
        commit=request.commit,
        identity=_identity(),
        request=_request_key(idempotency_key),
    )
    return ReleaseView.model_validate(release)


@app.post(f"{PREFIX}/promotions", status_code=201, summary="Promote one environment, through its gates")
def promote(request: PromotionRequest, idempotency_key: IdempotencyKey = None) -> ReleaseView:
    release = manual_releases().promote(
        request.product,
        request.environment,
        from_release=request.from_release,
        from_environment=request.from_environment,
        identity=_identity(),
        request=_request_key(idempotency_key),
        action=request.action,
    )
    return ReleaseView.model_validate(release)


@app.post(
    f"{PREFIX}/releases/<release_id>/retry",
    status_code=202,
    summary="Run a Failed or Terminated release again",
)
def retry(release_id: str) -> ReleaseView:
    return ReleaseView.model_validate(manual_releases().retry(release_id, identity=_identity()))


@app.post(
    f"{PREFIX}/releases/<release_id>/terminate",
    status_code=202,
    summary="Terminate a Queued or Running release: it ends Terminated, its flow's onFail hooks told who did it",
)
def terminate(release_id: str, request: TerminationRequest | None = None) -> ReleaseView:
    services().termination.terminate(release_id, _identity(), reason=request.reason if request else None)
    return ReleaseView.model_validate(services().store.get(release_id))


@app.post(
    f"{PREFIX}/products/<product>/rollback",
    status_code=201,
    summary="Promote an earlier release's properties back into one environment, through its gates",
)
def rollback(product: str, request: RollbackRequest, idempotency_key: IdempotencyKey = None) -> ReleaseView:
    parts = services()
    _, configuration = parts.configs.latest()
    if product not in configuration.products:
        raise ProductNotFound(f"there is no Product {product} in the configuration")
    from promotions.release.rollback import Rollbacks

    release = Rollbacks(parts.configs, parts.store, parts.executions).rollback(
        product, request.environment, _identity(), to_release=request.to_release, request=idempotency_key
    )
    return ReleaseView.model_validate(parts.store.get(release.id))


@app.post(
    f"{PREFIX}/releases/<release_id>/environments/<environment>/approve",
    summary="Approve the environment's waiting approval as the caller, listed among its approvers",
)
def approve(release_id: str, environment: str) -> ReleaseView:
    services().approvals.approve(release_id, environment, _identity())
    return ReleaseView.model_validate(services().store.get(release_id))


@app.post(
    f"{PREFIX}/releases/<release_id>/environments/<environment>/reject",
    summary="Reject the environment's waiting approval as the caller: the environment fails with the reason",
)
def reject(release_id: str, environment: str, request: RejectionRequest) -> ReleaseView:
    services().approvals.reject(release_id, environment, _identity(), request.reason)
    return ReleaseView.model_validate(services().store.get(release_id))


def openapi_document() -> str:
    return app.get_openapi_json_schema(
        title="Promotions",
        version="1",
        description="Steer releases: read products and releases, trigger a flow, promote, retry.",
    )


# Unannotated: Powertools builds a schema for every route's return annotation, even a route left out of the
# document, and has none for Response.
@app.get(OPENAPI_PATH, include_in_schema=False, enable_validation=False)
def openapi():
    return Response(status_code=200, content_type="application/json", body=openapi_document())


# The dashboard: static files beside the function, so `sam build` ships them with it. They carry no data (the
# page reads /api/v1 with the caller's credentials), and a browser opening a page sends none, so they are
# served to any caller, like the OpenAPI document.
DASHBOARD_PATH = "/dashboard"
DASHBOARD_FILES = Path(__file__).parent / "dashboard"
DASHBOARD_CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
# Without a build step the files' names do not change with their content: the browser asks again each time
# (If-None-Match, answered 304) instead of keeping a module an older deployment served. The page may load and
# call nothing but this API, so a script injected through a value it shows could send the token nowhere else.
DASHBOARD_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'",
}


def is_dashboard(path: str) -> bool:
    return path == DASHBOARD_PATH or path.startswith(f"{DASHBOARD_PATH}/")


@functools.cache
def _dashboard_file(name: str) -> tuple[str, str, str] | None:
    """Content type, ETag and text of one of the dashboard's own files; None for any other name."""
    path = DASHBOARD_FILES / name
    content_type = DASHBOARD_CONTENT_TYPES.get(path.suffix)
    if content_type is None or path.parent != DASHBOARD_FILES or not path.is_file():
        return None
    text = path.read_text(encoding="utf-8")
    return content_type, f'"{hashlib.sha256(text.encode()).hexdigest()[:32]}"', text


def _serve_dashboard_file(name: str) -> Response:
    found = _dashboard_file(name)
    if found is None:
        return _problem(HTTPStatus.NOT_FOUND, f"the dashboard has no file {name}")
    content_type, etag, text = found
    headers = {**DASHBOARD_HEADERS, "ETag": etag}
    if app.current_event.headers.get("if-none-match") == etag:
        return Response(status_code=HTTPStatus.NOT_MODIFIED.value, headers=headers, body="")
    return Response(status_code=200, content_type=content_type, headers=headers, body=text)


# The page's relative links (its modules, the API) resolve from /dashboard/, not from /dashboard.
@app.get(DASHBOARD_PATH, include_in_schema=False, enable_validation=False)
def dashboard_without_slash():
    return Response(
        status_code=HTTPStatus.PERMANENT_REDIRECT.value, headers={"Location": "dashboard/"}, body=""
    )


@app.get(f"{DASHBOARD_PATH}/", include_in_schema=False, enable_validation=False)
def dashboard_page():
    return _serve_dashboard_file("index.html")


@app.get(f"{DASHBOARD_PATH}/<name>", include_in_schema=False, enable_validation=False)
def dashboard_file(name: str):
    return _serve_dashboard_file(name)


def _unauthenticated(event: APIGatewayProxyEventV2) -> dict[str, Any]:
    problem = Problem(
        title=HTTPStatus.UNAUTHORIZED.phrase,
        status=HTTPStatus.UNAUTHORIZED.value,
        detail="no credentials the API accepts: sign the request (SigV4), or send a bearer token",
        instance=event.path,
    )
    return {
        "statusCode": HTTPStatus.UNAUTHORIZED.value,
        "headers": {"Content-Type": PROBLEM},
        "body": problem.model_dump_json(by_alias=True, exclude_defaults=True),
        "isBase64Encoded": False,
    }


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@traced
def handler(event: dict, context: LambdaContext) -> dict:
    request = APIGatewayProxyEventV2(event)
    identity = caller(request)
    if identity is None and request.path != OPENAPI_PATH and not is_dashboard(request.path):
        logger.info("request without credentials refused", extra={"path": request.path})
        return _unauthenticated(request)
    app.append_context(identity=identity)
    logger.append_keys(actor=identity.actor if identity else None)
    return app.resolve(event, context)
