"""The server secret, and the keys it gives for site tokens (docs/sites.md) and webhook
secrets (docs/webhooks.md).

A site token is kept twice, neither in clear: an HMAC-SHA256 digest (keyed, so a leaked
database cannot be searched for tokens offline without the secret) to verify and find it in
constant time, and an AES-256-GCM sealed copy so its owner can read it back. Both keys are
derived from one secret: ``settings.secret_key``, else a file created with mode 0600 beside
a SQLite database, or for other databases in the user's data directory (one file per
database, never the working directory: a server started elsewhere must find the same one).

A webhook's signing secret is kept sealed the same way (under a key of its own): the delivery
worker needs it in clear to sign, and its owner sees it only when it is made.

A server checks at start that the secret opens the sealed tokens its database holds
(``storage.secret_check``): with another secret every token would fail on use, so it refuses to
start instead, naming ``SEGMENTD_SECRET_KEY``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets as stdlib_secrets
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from platformdirs import user_data_path

from .database_urls import is_sqlite, normalize_url
from .settings import Settings

SECRET_FILE_SUFFIX = ".secret"
_NONCE_BYTES = 12


class SealError(Exception):
    """A sealed token cannot be opened: another secret sealed it, or it was altered."""


class SecretMismatch(RuntimeError):
    """The server's secret does not open the site tokens sealed in its database."""


def secret_file_path(database_url: str) -> Path:
    """Where the secret lives when no ``secret_key`` is set: ``<db file>.secret`` beside a
    SQLite file; else ``<user data dir>/segmentd/<database>-<digest>.secret``, keyed by the
    database's address (not its password), so two databases never share a secret."""
    url = normalize_url(database_url)
    database = url.split("///", 1)[1] if is_sqlite(url) and "///" in url else ""
    if database and database != ":memory:" and not database.startswith("file:"):
        path = Path(database).absolute()
        return path.with_name(path.name + SECRET_FILE_SUFFIX)
    return user_data_path("segmentd") / _database_file_name(url)


def _database_file_name(url: str) -> str:
    parsed = sa.make_url(url)
    query = sorted(parsed.query.items())
    address = (
        f"{parsed.get_backend_name()}://{parsed.username}@{parsed.host}:{parsed.port}"
        f"/{parsed.database}?{query}"
    )
    digest = hashlib.sha256(address.encode()).hexdigest()[:16]
    readable = "".join(c if c.isalnum() or c in "-_" else "_" for c in parsed.database or "")
    return f"{readable[:40] or parsed.get_backend_name()}-{digest}{SECRET_FILE_SUFFIX}"


def read_or_create_secret(path: Path) -> str:
    """The secret in ``path``; created (mode 0600, never overwritten) when missing."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
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
    """Digests and seals site tokens, and seals webhook secrets, with keys derived from the
    server secret."""

    def __init__(self, secret: str) -> None:
        master = secret.encode()
        self._digest_key = _derive(master, b"segmentd/site-token/digest")
        self._aead = AESGCM(_derive(master, b"segmentd/site-token/seal"))
        self._webhook_aead = AESGCM(_derive(master, b"segmentd/webhook-secret/seal"))

    def seal_webhook_secret(self, secret: str, webhook_id: int) -> str:
        """Encrypt a webhook's signing secret, bound to its subscription."""
        nonce = os.urandom(_NONCE_BYTES)
        label = f"webhook:{webhook_id}".encode()
        return base64.urlsafe_b64encode(
            nonce + self._webhook_aead.encrypt(nonce, secret.encode(), label)
        ).decode()

    def unseal_webhook_secret(self, sealed: str, webhook_id: int) -> str:
        try:
            raw = base64.urlsafe_b64decode(sealed.encode())
            label = f"webhook:{webhook_id}".encode()
            plain = self._webhook_aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], label)
        except (InvalidTag, ValueError) as exc:
            raise SealError("the webhook secret was sealed with another secret key") from exc
        return plain.decode()

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


_ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def new_webhook_secret() -> str:
    """A Standard Webhooks signing secret: ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


def server_secret(settings: Settings) -> str:
    """``settings.secret_key``, else the secret file's (created when missing)."""
    return settings.secret_key or read_or_create_secret(secret_file_path(settings.database_url))


def derived_secret(settings: Settings, purpose: str, length: int = 32) -> str:
    """``length`` characters of [A-Za-z0-9] that only this server's secret gives for
    ``purpose``: the same across restarts, unguessable without the secret."""
    number = int.from_bytes(_derive(server_secret(settings).encode(), purpose.encode()), "big")
    characters = []
    for _ in range(length):  # 256 bits give 43 such characters
        number, index = divmod(number, len(_ALPHANUMERIC))
        characters.append(_ALPHANUMERIC[index])
    return "".join(characters)


def token_keys(settings: Settings) -> TokenKeys:
    """The keys for ``settings`` (loaded once per secret / secret file)."""
    if settings.secret_key:
        return _token_keys(settings.secret_key, None)
    return _token_keys(None, secret_file_path(settings.database_url))


@lru_cache(maxsize=8)
def _token_keys(secret_key: str | None, path: Path | None) -> TokenKeys:
    return TokenKeys(secret_key or read_or_create_secret(path or Path()))
