"""Page origins allowed to call a site's look-up (docs/sites.md, "Allowed origins").

A ``<script>`` load sends ``Referer`` (not ``Origin``), so both are read: ``Origin`` when
present, else the origin of ``Referer``. A cookie look-up that carries neither is refused
when the site restricts origins: a page can hide its referrer on purpose
(``referrerpolicy="no-referrer"``). A look-up with ``tcid`` and a valid token may carry
neither: whoever holds the token can call from a server anyway, so headers prove nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from ...domain.errors import DomainValidationError

MAX_ORIGINS = 50
_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_origin(value: str) -> str | None:
    """``scheme://host[:port]`` in lower case, default port dropped; None if not an origin."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    if scheme not in _DEFAULT_PORTS or not host or parts.username or parts.password:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return None
    return _origin(scheme, host, port)


def checked_origins(values: Sequence[str]) -> list[str]:
    """The origins normalised, each once; a ``DomainValidationError`` on ``allowed_origins``
    names the first that is not one, or too many."""
    if len(values) > MAX_ORIGINS:
        raise DomainValidationError("allowed_origins", f"at most {MAX_ORIGINS} origins")
    origins: list[str] = []
    for value in values:
        origin = normalize_origin(value)
        if origin is None:
            message = f"{value!r} is not an origin like https://host[:port]"
            raise DomainValidationError("allowed_origins", message)
        if origin not in origins:
            origins.append(origin)
    return origins


def origin_of_url(url: str) -> str | None:
    """The origin a full URL (a ``Referer``) belongs to."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    return _origin(scheme, host, port)


def _origin(scheme: str, host: str, port: int | None) -> str:
    shown_host = f"[{host}]" if ":" in host else host
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{shown_host}"
    return f"{scheme}://{shown_host}:{port}"


def caller_origin(origin_header: str | None, referer_header: str | None) -> str | None:
    """The calling page's origin: ``Origin`` first, else ``Referer``; None when neither."""
    if origin_header:
        return normalize_origin(origin_header) or "null"
    if referer_header:
        return origin_of_url(referer_header) or "null"
    return None


def origin_allowed(
    allowed: Sequence[str], origin_header: str | None, referer_header: str | None, *, tokened: bool
) -> bool:
    """Whether a look-up from that page may proceed (see the module docstring)."""
    if not allowed:
        return True
    origin = caller_origin(origin_header, referer_header)
    if origin is None:
        return tokened
    return origin in allowed
