"""Releases: one run of a promotion flow for one version, with a status per environment."""
