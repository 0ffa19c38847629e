"""Credentials out of text bound for a log or a console.

`redact(text, secrets)` masks every password a database or Redis
location can carry (a URL's userinfo, a ``password=`` keyword or query
parameter), by its shape and, for `secrets` (`secrets_in(location)` of
each location a program was given), by its value wherever it appears.
`RedactingFilter` does it for every record of a `logging` handler.
"""

from ._redact import MASK, RedactingFilter, redact, secrets_in

__all__ = ["MASK", "RedactingFilter", "redact", "secrets_in"]
