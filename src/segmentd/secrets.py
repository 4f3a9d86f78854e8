"""The server secret, and the keys it gives for site tokens (docs/sites.md).

A site token is kept twice, neither in clear: an HMAC-SHA256 digest (keyed, so a leaked
database cannot be searched for tokens offline without the secret) to verify and find it in
constant time, and an AES-256-GCM sealed copy so its owner can read it back. Both keys are
derived from one secret: ``settings.secret_key``, else a file created with mode 0600 beside
a SQLite database (or in the working directory for other databases).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets as stdlib_secrets
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .settings import Settings
from .storage.db import is_sqlite, normalize_url

SECRET_FILE_SUFFIX = ".secret"
DEFAULT_SECRET_FILE = "segmentd.secret"
_NONCE_BYTES = 12


class SealError(Exception):
    """A sealed token cannot be opened: another secret sealed it, or it was altered."""


def secret_file_path(database_url: str) -> Path:
    """Where the secret lives when no ``secret_key`` is set: ``<db file>.secret`` for SQLite."""
    url = normalize_url(database_url)
    database = url.split("///", 1)[1] if is_sqlite(url) and "///" in url else ""
    if database and database != ":memory:" and not database.startswith("file:"):
        return Path(database).with_name(Path(database).name + SECRET_FILE_SUFFIX)
    return Path.cwd() / DEFAULT_SECRET_FILE


def read_or_create_secret(path: Path) -> str:
    """The secret in ``path``; created (mode 0600, never overwritten) when missing."""
    if not path.exists():
        _create_secret_file(path)
    secret = path.read_text().strip()
    if not secret:
        raise RuntimeError(f"the secret file {path} is empty")
    return secret


def _create_secret_file(path: Path) -> None:
    # Written aside then hard-linked into place: another process sees no file or a full one.
    draft = path.with_name(f".{path.name}.{os.getpid()}.{stdlib_secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(stdlib_secrets.token_urlsafe(48) + "\n")
        os.link(draft, path)
    except FileExistsError:
        pass  # another process won the race: use its secret
    finally:
        draft.unlink(missing_ok=True)


class TokenKeys:
    """Digests and seals site tokens with keys derived from the server secret."""

    def __init__(self, secret: str) -> None:
        master = secret.encode()
        self._digest_key = _derive(master, b"segmentd/site-token/digest")
        self._aead = AESGCM(_derive(master, b"segmentd/site-token/seal"))

    def digest(self, token: str) -> str:
        """64 hex characters; equal tokens give equal digests (so a digest finds its site)."""
        return hmac.new(self._digest_key, token.encode(), hashlib.sha256).hexdigest()

    def seal(self, token: str, site_id: int) -> str:
        """Encrypt ``token``, bound to its site (a sealed copy moved to another row won't open)."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, token.encode(), _site_label(site_id))
        return base64.urlsafe_b64encode(nonce + sealed).decode()

    def unseal(self, sealed: str, site_id: int) -> str:
        try:
            raw = base64.urlsafe_b64decode(sealed.encode())
            plain = self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], _site_label(site_id))
        except (InvalidTag, ValueError) as exc:
            raise SealError("the site token was sealed with another secret key") from exc
        return plain.decode()


def _derive(master: bytes, purpose: bytes) -> bytes:
    return hmac.new(master, purpose, hashlib.sha256).digest()


def _site_label(site_id: int) -> bytes:
    return f"site:{site_id}".encode()


def token_keys(settings: Settings) -> TokenKeys:
    """The keys for ``settings`` (loaded once per secret / database)."""
    return _token_keys(settings.secret_key, settings.database_url)


@lru_cache(maxsize=8)
def _token_keys(secret_key: str | None, database_url: str) -> TokenKeys:
    secret = secret_key or read_or_create_secret(secret_file_path(database_url))
    return TokenKeys(secret)
