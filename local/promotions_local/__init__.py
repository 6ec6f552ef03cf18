"""The embedded default: the real handlers and ASL on moto, and the CLI. Never shipped in the Lambda layer."""
