"""How a promotion writes its change: the vocabulary of a PromotionPolicy's `action`, shared by the configuration
that chooses it and the release that records it (a release's model must not need the configuration loaded)."""

from enum import StrEnum


class PolicyAction(StrEnum):
    COMMIT = "commit"
    PR = "pr"
    NONE = "none"
