"""SSH commit signatures made in process, checked by OpenSSH's own `ssh-keygen -Y verify` and by `git log
--show-signature`, as a host checks them against a registered signing key."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa

from promotions.git.signing_key import SecretsManagerCommitSigner
from promotions.git import Author, GitRemote, SigningKeyError, SshCommitSigner
from promotions_local.git_server import GitHttpBackendServer

from .conftest import HAS_GIT, REPO_NAME

HAS_SSH_KEYGEN = shutil.which("ssh-keygen") is not None
PRINCIPAL = "promotions@example.invalid"

KEYS = {
    "ed25519": ed25519.Ed25519PrivateKey.generate,
    "ecdsa-p256": lambda: ec.generate_private_key(ec.SECP256R1()),
    "ecdsa-p384": lambda: ec.generate_private_key(ec.SECP384R1()),
    "ecdsa-p521": lambda: ec.generate_private_key(ec.SECP521R1()),
    "rsa": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
}


def openssh_private_key(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    )


def allowed_signers(tmp_path: Path, signer: SshCommitSigner) -> Path:
    path = tmp_path / "allowed_signers"
    path.write_text(f"{PRINCIPAL} {signer.public_key}\n")
    return path


@pytest.mark.skipif(not HAS_SSH_KEYGEN, reason="needs ssh-keygen to check the signatures")
@pytest.mark.parametrize("kind", list(KEYS))
def test_ssh_keygen_verifies_the_signature_and_refuses_it_for_other_content(tmp_path: Path, kind: str):
    signer = SshCommitSigner(openssh_private_key(KEYS[kind]()))
    payload = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <a@b> 0 +0000\n\nPromote\n"
    signature = tmp_path / "payload.sig"
    signature.write_bytes(signer.sign(payload))
    verify = [
        "ssh-keygen", "-Y", "verify", "-f", str(allowed_signers(tmp_path, signer)),
        "-I", PRINCIPAL, "-n", "git", "-s", str(signature),
    ]  # fmt: skip

    good = subprocess.run(verify, input=payload, capture_output=True, check=False)
    assert good.returncode == 0, good.stderr.decode()
    assert b"Good \"git\" signature" in good.stdout + good.stderr

    tampered = subprocess.run(verify, input=payload + b"!", capture_output=True, check=False)
    assert tampered.returncode != 0


def test_a_pem_key_signs_too():
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    assert SshCommitSigner(pem).sign(b"payload").startswith(b"-----BEGIN SSH SIGNATURE-----\n")


def test_unusable_keys_say_why_without_showing_the_key():
    with pytest.raises(SigningKeyError, match="secret commit-key is not an OpenSSH or PEM private key") as raised:
        SshCommitSigner("not a key at all: s3cret", source="secret commit-key")
    assert "s3cret" not in str(raised.value)

    dsa_key = dsa.generate_private_key(key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(SigningKeyError, match="DSAPrivateKey keys cannot sign"):
        SshCommitSigner(dsa_key)

    p224 = ec.generate_private_key(ec.SECP224R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(SigningKeyError, match="not an SSH key type"):
        SshCommitSigner(p224)


@pytest.mark.skipif(not (HAS_GIT and HAS_SSH_KEYGEN), reason="needs git and ssh-keygen to check the commit")
def test_a_signed_commit_shows_a_good_signature_in_git(repo_root: Path, tmp_path: Path):
    signer = SshCommitSigner(openssh_private_key(ed25519.Ed25519PrivateKey.generate()))
    with GitHttpBackendServer(repo_root) as server:
        outcome = GitRemote(server.url_for(REPO_NAME)).commit(
            "main",
            lambda tip: {"envs/prod/values.yaml": b"image: app:1.0.0\nreplicas: 3\n"},
            "Promote app 1.0.0 to prod",
            Author("Promotions", PRINCIPAL),
            signer=signer,
        )
    assert outcome.commit_sha
    shown = subprocess.run(
        [
            "git", "-C", str(repo_root / REPO_NAME),
            "-c", f"gpg.ssh.allowedSignersFile={allowed_signers(tmp_path, signer)}",
            "log", "-1", "--format=%G? %GS", outcome.commit_sha,
        ],  # fmt: skip
        capture_output=True,
        check=True,
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), "GIT_CONFIG_NOSYSTEM": "1"},
    )
    assert shown.stdout.decode().strip() == f"G {PRINCIPAL}"


def test_the_secret_is_read_at_each_signature_so_a_rotated_key_is_used():
    keys = iter([openssh_private_key(ed25519.Ed25519PrivateKey.generate()) for _ in range(2)])
    reads = []

    def read_secret(name: str) -> bytes:
        reads.append(name)
        return next(keys)

    signer = SecretsManagerCommitSigner("commit-key", read_secret=read_secret)
    first, second = signer.sign(b"payload"), signer.sign(b"payload")
    assert reads == ["commit-key", "commit-key"]
    assert first != second


def test_a_secret_holding_no_key_names_the_secret():
    signer = SecretsManagerCommitSigner("commit-key", read_secret=lambda name: "hunter2")
    with pytest.raises(SigningKeyError, match="commit signing key in secret commit-key is not") as raised:
        signer.sign(b"payload")
    assert "hunter2" not in str(raised.value)
