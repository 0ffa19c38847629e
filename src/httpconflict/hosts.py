"""Which hosts a service answers for: a Host allow-list, and the loopback names.

A page a browser loaded elsewhere can reach a service on 127.0.0.1 by
DNS rebinding, but it cannot change the Host header: a service that
answers only its own names is out of its reach. `AllowedHosts.check`
takes a request's Host field lines and decides ALLOWED, MISDIRECTED (421)
or MALFORMED (400); `LOOPBACK_HOSTS` are the names a local client uses,
and `target_authority` reads the authority of an absolute-form request
target (RFC 9112 §3.2.2), which takes precedence over Host.
"""

from ._hosts import (
    ANY_HOST,
    LOOPBACK_HOSTS,
    AllowedHosts,
    HostDecision,
    host_patterns,
    is_loopback,
    target_authority,
)

__all__ = [
    "ANY_HOST",
    "LOOPBACK_HOSTS",
    "AllowedHosts",
    "HostDecision",
    "host_patterns",
    "is_loopback",
    "target_authority",
]
