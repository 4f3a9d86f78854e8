"""Where webhooks may be posted: public addresses only, unless the allow-list names the host.

A URL is checked when a subscription is made or changed (its host is resolved, and every
address must be public) and again at each delivery, at the moment of connecting: the HTTP
client's connections go through ``GuardedBackend``, which resolves the host, checks every
address and connects to a checked one, so a name that resolves elsewhere later (DNS
rebinding) cannot reach a private address. ``SEGMENTD_WEBHOOK_ALLOWED_HOSTS`` names the
exceptions: host names (exact, any case) or addresses and networks (CIDR).
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from urllib.parse import urlsplit

import httpcore
import httpx

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(Exception):
    """The URL may not be posted to (its message says why, without secrets)."""


@dataclass(frozen=True)
class AllowList:
    names: frozenset[str]
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]

    @classmethod
    def parse(cls, items: Iterable[str]) -> AllowList:
        names, networks = set(), []
        for item in items:
            try:
                networks.append(ipaddress.ip_network(item.strip("[]"), strict=False))
            except ValueError:
                names.add(item.lower().rstrip("."))
        return cls(frozenset(names), tuple(networks))

    def names_host(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.names

    def allows(self, address: Address) -> bool:
        return is_public(address) or any(address in network for network in self.networks)


def is_public(address: Address) -> bool:
    """A globally routable unicast address (not private, loopback, link-local, shared,
    reserved, multicast or unspecified); an IPv4 address mapped into IPv6 counts as itself."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def check_url(url: str, allowed: AllowList) -> None:
    """Refuse a URL that is not http(s)://host[:port]/... or whose host is not public."""
    try:
        parts = urlsplit(url)
    except ValueError:  # an unclosed IPv6 bracket, say
        raise TargetRefused("is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused("must be an http:// or https:// URL with a host")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("must not carry a user name or password")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise TargetRefused("has an invalid port") from None
    checked_addresses(parts.hostname, port, allowed)


def checked_addresses(host: str, port: int, allowed: AllowList) -> list[Address]:
    """Every address ``host`` resolves to, when all may be reached (else ``TargetRefused``)."""
    addresses = _resolve(host, port)
    if allowed.names_host(host):
        return addresses
    for address in addresses:
        if not allowed.allows(address):
            raise TargetRefused(
                f"{host} resolves to {address}, which is not a public address "
                "(SEGMENTD_WEBHOOK_ALLOWED_HOSTS can allow it)"
            )
    return addresses


def _resolve(host: str, port: int) -> list[Address]:
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    else:
        return [literal]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise TargetRefused(f"{host} does not resolve") from None
    found: list[Address] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    if not found:
        raise TargetRefused(f"{host} does not resolve")
    return found


class GuardedBackend(httpcore.NetworkBackend):
    """Connects only to checked addresses (the first that answers)."""

    def __init__(self, allowed: AllowList) -> None:
        self.allowed = allowed
        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = checked_addresses(host, port, self.allowed)
        error: Exception | None = None
        for address in addresses:
            try:
                return self._backend.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                error = exc
        assert error is not None
        raise error

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise TargetRefused("webhooks are not posted to Unix sockets")

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


@cache
def _ssl_context() -> ssl.SSLContext:
    """httpx's default (certificates verified), made once: loading the CA bundle is slow."""
    return httpx.create_ssl_context()


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport whose connections go through ``GuardedBackend`` (TLS checks the URL's
    host name as usual: only the TCP connection takes the checked address). It sets up only
    its pool, which is all ``HTTPTransport``'s methods use (its own set-up would load the CA
    bundle at each delivery)."""

    def __init__(self, allowed: AllowList) -> None:
        self._pool = httpcore.ConnectionPool(
            ssl_context=_ssl_context(),
            max_connections=1,
            network_backend=GuardedBackend(allowed),
        )
