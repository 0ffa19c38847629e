"""The settings of the guards on the service's connections, as each worker reads them."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from .config import ServiceConfig


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """The guards' settings, from the service's configuration."""

    max_header_bytes: int
    header_timeout: float
    body_timeout: float
    max_connections: int
    max_body_memory: int
    max_answer_memory: int

    @classmethod
    def from_config(cls, config: ServiceConfig) -> ConnectionLimits:
        return cls(
            config.max_header_bytes,
            config.header_timeout,
            config.body_timeout,
            config.max_connections,
            config.max_body_memory,
            config.max_answer_memory,
        )


@cache
def connection_limits() -> ConnectionLimits:
    # Workers get their settings as the app does: from HTTPCONFLICT_* variables.
    return ConnectionLimits.from_config(ServiceConfig.from_env())
