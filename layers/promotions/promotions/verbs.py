"""What a caller may do to releases: the verbs of PromotionPermissions rules, shared by the configuration that
grants them and the API that answers with them (whose cold start must not need the configuration loaded)."""

from enum import StrEnum


class Verb(StrEnum):
    """The state-changing calls a rule may allow; reading needs no rule."""

    TRIGGER = "trigger"
    PROMOTE = "promote"
    ROLLBACK = "rollback"
    APPROVE = "approve"
    RETRY = "retry"
    TERMINATE = "terminate"
