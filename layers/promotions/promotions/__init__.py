"""Promotions domain: configuration, release orchestration and the Git engine. Knows nothing of Lambda events."""
