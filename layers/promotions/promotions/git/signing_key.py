"""The key promotion commits are signed with, read from a Secrets Manager secret.

The secret's value is the text of an OpenSSH private key (`ssh-keygen -t ed25519 -N ""`), stored without a
passphrase: Secrets Manager encrypts it with KMS, and a passphrase would have to sit next to it. Register
the public key as a signing key of the commit author's account on the Git host, and commits show as
verified. The key is never logged and never part of an error message.
"""

from __future__ import annotations

from collections.abc import Callable

from aws_lambda_powertools.utilities import parameters

from promotions.git.signing import SshCommitSigner

_CACHE_SECONDS = 300


class SecretsManagerCommitSigner:
    """Signs with the key in `secret_id`, read through Powertools Parameters and cached for five minutes, so
    a rotated key is in use within that."""

    def __init__(self, secret_id: str, read_secret: Callable[[str], str | bytes] | None = None) -> None:
        self._secret_id = secret_id
        self._read_secret = read_secret or (lambda name: parameters.get_secret(name, max_age=_CACHE_SECONDS))

    def sign(self, payload: bytes) -> bytes:
        key = self._read_secret(self._secret_id)
        return SshCommitSigner(key, source=f"the commit signing key in secret {self._secret_id}").sign(
            payload
        )
