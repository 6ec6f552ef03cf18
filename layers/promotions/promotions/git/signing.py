"""SSH signatures for commits, made in process: what `git commit -S` makes with `gpg.format=ssh`.

dulwich signs commits only through programs (gpg, gpgsm, ssh-keygen) or bindings of native libraries
(gpgme, sequoia), none of which the Lambda runtime has, so the SSHSIG format (OpenSSH's PROTOCOL.sshsig) is
written here with `cryptography`. Git hosts verify it against the key registered as a signing key.

`cryptography` is imported by the signer alone, when a key is given: as large as every other dependency
together, it ships in a Lambda layer of its own that only the promote function gets, and only when commits
are signed (template.yaml's CommitSigningLayer).
"""

from __future__ import annotations

import base64
import hashlib
import struct
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

_MAGIC = b"SSHSIG"
_VERSION = 1
# The namespace git signs commits in: `ssh-keygen -Y verify -n git`.
_NAMESPACE = b"git"
_MESSAGE_HASH = b"sha512"
_ARMOR_WIDTH = 70
# The hash each curve signs with (names in cryptography.hazmat.primitives.hashes).
_ECDSA_HASHES = {"secp256r1": "SHA256", "secp384r1": "SHA384", "secp521r1": "SHA512"}


class CommitSigner(Protocol):
    def sign(self, payload: bytes) -> bytes:
        """The signature git stores in a commit's `gpgsig` header, for the commit serialized without it."""
        ...


class SigningKeyError(ValueError):
    """The signing key cannot be used; the message says why, never what the key holds."""


class SshCommitSigner:
    """Signs with an OpenSSH private key: Ed25519, ECDSA (NIST P-256, P-384, P-521) or RSA (rsa-sha2-512)."""

    def __init__(self, private_key: bytes | str, *, source: str = "the signing key") -> None:
        """`private_key`: the key file's text (`-----BEGIN OPENSSH PRIVATE KEY-----`, or PEM), without a
        passphrase. `source` names where it came from in error messages."""
        from cryptography.exceptions import UnsupportedAlgorithm
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

        data = private_key.encode() if isinstance(private_key, str) else private_key
        try:
            key = (
                serialization.load_ssh_private_key(data, password=None)
                if b"OPENSSH PRIVATE KEY" in data
                else serialization.load_pem_private_key(data, password=None)
            )
        except TypeError:
            raise SigningKeyError(
                f"{source} is protected by a passphrase: store it without one (Secrets Manager encrypts it)"
            ) from None
        except (ValueError, UnsupportedAlgorithm):
            raise SigningKeyError(f"{source} is not an OpenSSH or PEM private key") from None
        if not isinstance(key, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
            raise SigningKeyError(f"{source}: {type(key).__name__} keys cannot sign SSH signatures")
        if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name not in _ECDSA_HASHES:
            raise SigningKeyError(f"{source}: ECDSA on {key.curve.name} is not an SSH key type")
        self._key: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey = key
        openssh_public = key.public_key().public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        )
        self.public_key = openssh_public.decode()
        key_type, encoded_public_key = openssh_public.split()[:2]
        self._key_type = key_type
        self._public_blob = base64.b64decode(encoded_public_key)

    def sign(self, payload: bytes) -> bytes:
        digest = hashlib.sha512(payload).digest()
        signed = b"".join(
            [_MAGIC, _string(_NAMESPACE), _string(b""), _string(_MESSAGE_HASH), _string(digest)]
        )
        blob = b"".join(
            [
                _MAGIC,
                struct.pack(">I", _VERSION),
                _string(self._public_blob),
                _string(_NAMESPACE),
                _string(b""),
                _string(_MESSAGE_HASH),
                _string(self._signature(signed)),
            ]
        )
        encoded = base64.b64encode(blob)
        lines = [encoded[start : start + _ARMOR_WIDTH] for start in range(0, len(encoded), _ARMOR_WIDTH)]
        return b"\n".join([b"-----BEGIN SSH SIGNATURE-----", *lines, b"-----END SSH SIGNATURE-----"]) + b"\n"

    def _signature(self, data: bytes) -> bytes:
        """The SSH signature blob: algorithm name, then the signature in that algorithm's encoding."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
        from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

        key = self._key
        if isinstance(key, ed25519.Ed25519PrivateKey):
            return _string(b"ssh-ed25519") + _string(key.sign(data))
        if isinstance(key, rsa.RSAPrivateKey):
            return _string(b"rsa-sha2-512") + _string(key.sign(data, padding.PKCS1v15(), hashes.SHA512()))
        r, s = decode_dss_signature(
            key.sign(data, ec.ECDSA(getattr(hashes, _ECDSA_HASHES[key.curve.name])()))
        )
        return _string(self._key_type) + _string(_mpint(r) + _mpint(s))


def _string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _mpint(value: int) -> bytes:
    """A non-negative integer as an SSH mpint: big-endian, with a leading zero byte when the top bit is set."""
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    if raw and raw[0] & 0x80:
        raw = b"\x00" + raw
    return _string(raw)
