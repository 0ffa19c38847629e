"""Which hosts a service answers for: the Host allow-list, and loopback addresses.

Theory of operation: a web page can make a browser send requests to a
service on 127.0.0.1 by DNS rebinding (its own name, re-resolved to
127.0.0.1 after the page loaded): the browser then treats the service as
the page's own origin, and lets the page read what it answers. What the
browser cannot change is the Host header, which still names the page's
host. A service that answers only requests whose Host is one of its own
names (loopback names by default) is out of that page's reach.

`AllowedHosts.check` takes the Host field lines of a request and decides:
ALLOWED, MISDIRECTED (a well-formed host that is not on the list: 421,
RFC 9110 §15.5.20 "the server is unable or unwilling to produce an
authoritative response for the target URI") or MALFORMED (no Host, two
of them, or one that is not a host: 400, RFC 9112 §3.2).
"""

from __future__ import annotations

import enum
import functools
import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

#: Names a client on this machine reaches a loopback service by.
LOOPBACK_HOSTS: Final = ("localhost", "127.0.0.1", "[::1]")
#: The pattern that allows every host (behind a proxy that checks them itself).
ANY_HOST: Final = "*"
#: The longest Host value (in bytes) whose decision is kept for the next request.
CACHED_HOST: Final = 512

# RFC 3986 §3.2.2: reg-name = *( unreserved / pct-encoded / sub-delims ).
_REG_NAME: Final = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=%]*")
# RFC 3986 §3.2.2: IP-literal = "[" ( IPv6address / IPvFuture ) "]".
_IP_LITERAL: Final = re.compile(r"\[[0-9A-Za-z:.\-_~!$&'()*+,;=%]+\]")
# RFC 3986 §3.1 scheme, then "//" and the authority up to the path.
_ABSOLUTE_FORM: Final = re.compile(rb"[A-Za-z][A-Za-z0-9+.\-]*://([^/?#]*)")


class HostDecision(enum.Enum):
    ALLOWED = "allowed"
    #: A host the service does not answer for (421).
    MISDIRECTED = "misdirected"
    #: No Host, several, or one that is not a host (400).
    MALFORMED = "malformed"


@dataclass(frozen=True, slots=True)
class HostCheck:
    """A decision, and the Host value it is about (latin-1 text, as received)."""

    decision: HostDecision
    value: str | None = None


@dataclass(frozen=True, slots=True)
class _Host:
    name: str  # lower case, without a trailing dot; IPv6 in brackets
    port: int | None


def _parse(text: str) -> _Host | None:
    """`uri-host [ ":" port ]` (RFC 9110 §7.2), or None when it is not one."""
    if text.startswith("["):
        end = text.find("]") + 1
        name, rest = text[:end], text[end:]
        if not end or not _IP_LITERAL.fullmatch(name):
            return None
    else:
        name, colon, after = text.partition(":")
        rest = colon + after
        if not _REG_NAME.fullmatch(name):
            return None
    # RFC 3986 §3.2.3: port = *DIGIT (so "host:" is a host, of no port).
    digits = rest[1:]
    if rest and (rest[0] != ":" or not digits.isascii() or not (digits.isdigit() or not digits)):
        return None
    # Leading zeros name the same port; more digits than 65535 has cannot be
    # one (and int() refuses a text of over 4300 digits: a 500, once).
    significant = digits.lstrip("0")
    if len(significant) > len("65535"):
        return None
    port = int(significant or "0") if digits else None
    if port is not None and port > 65535:
        return None
    # RFC 3986 §3.2.2: "The host subcomponent is case-insensitive"; a fully
    # qualified name's final dot names the same host.
    return _Host(name.lower().removesuffix("."), port)


@dataclass(frozen=True, slots=True)
class _Pattern:
    name: str
    port: int | None
    subdomains: bool  # "*.example.com": any name under example.com

    def matches(self, host: _Host) -> bool:
        if self.port is not None and host.port != self.port:
            return False
        if self.subdomains:
            return host.name.endswith("." + self.name)
        return host.name == self.name


class AllowedHosts:
    """The hosts a service answers for: names (any port), name:port, *.domain, or *."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns = tuple(patterns)
        self.any = ANY_HOST in self.patterns
        self._patterns = tuple(_pattern(p) for p in self.patterns if p != ANY_HOST)
        # Clients send a few Host values over and over: parsing each once
        # makes the check a cache lookup (timeit: 0.2 µs a request, against 4).
        self._decide = functools.lru_cache(maxsize=1024)(self._decide_uncached)

    def check(self, values: Sequence[bytes]) -> HostCheck:
        """Decide on a request by the values of its Host field lines."""
        if self.any:
            return HostCheck(HostDecision.ALLOWED)
        # RFC 9112 §3.2: "A server MUST respond with a 400 (Bad Request) status
        # code to any HTTP/1.1 request message that lacks a Host header field
        # and to any request message that contains more than one Host header
        # field line or a Host header field with an invalid field value."
        if len(values) != 1:
            return HostCheck(HostDecision.MALFORMED)
        if len(values[0]) > CACHED_HOST:
            # No host is that long (a name is at most 253 characters): kept,
            # 1024 values of 60 KB each grew a worker by 114 MB.
            return self._decide_uncached(values[0])
        return self._decide(values[0])

    def _decide_uncached(self, value: bytes) -> HostCheck:
        text = value.decode("latin-1").strip(" \t")
        host = _parse(text)
        if host is None:
            return HostCheck(HostDecision.MALFORMED, text)
        if any(p.matches(host) for p in self._patterns):
            return HostCheck(HostDecision.ALLOWED, text)
        return HostCheck(HostDecision.MISDIRECTED, text)


def _pattern(text: str) -> _Pattern:
    subdomains = text.startswith("*.")
    host = _parse(text[2:] if subdomains else text)
    if host is None or not host.name or (subdomains and host.name.startswith("[")):
        raise ValueError(
            f"{text!r} is not a host pattern: give a name or address, optionally with "
            "a port (api.example.com, 10.0.0.5:8000, [::1]), *.domain for every name "
            "under a domain, or * for any host"
        )
    return _Pattern(host.name, host.port, subdomains)


def host_patterns(listen: str, extra: Iterable[str] = ()) -> tuple[str, ...]:
    """The hosts a service listening on `listen` answers for: the defaults, then `extra`.

    The loopback names always (no page can give its own name to them), and
    `listen` itself when it is one address or name (0.0.0.0 and :: are
    every address, so they name no host).
    """
    patterns = list(LOOPBACK_HOSTS)
    listen = listen.strip()
    name = f"[{listen}]" if ":" in listen and not listen.startswith("[") else listen
    if not _unspecified(listen) and name.lower() not in patterns:
        patterns.append(name)
    return (*patterns, *extra)


def is_loopback(listen: str) -> bool:
    """Whether listening on `listen` reaches only this machine.

    Only loopback addresses and the name localhost count: another name
    may resolve to anything.
    """
    name = listen.strip().strip("[]")
    if name.lower().removesuffix(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _unspecified(listen: str) -> bool:
    try:
        return ipaddress.ip_address(listen.strip("[]")).is_unspecified
    except ValueError:
        return listen == ""


def target_authority(target: bytes) -> bytes | None:
    """The authority of an absolute-form request target (``GET http://h/p``), else None.

    RFC 9112 §3.2.2: "When an origin server receives a request with an
    absolute-form of request-target, the origin server MUST ignore the
    received Host header field (if any) and instead use the host
    information of the request-target."
    """
    match = _ABSOLUTE_FORM.match(target)
    if match is None:
        return None
    # A userinfo ("user:pass@") is no part of the host.
    return match[1].rpartition(b"@")[2]
