"""Optional dependencies: which extra brings each, and the error naming it when it is missing.

Importing an adapter or a store without its extra raises `MissingExtra`
(a `ModuleNotFoundError`, so an `ImportError`) whose message names the
extra to install (``pip install 'httpconflict[fastapi]'``). A module of
your own built on an optional package does the same with
``raise missing_extra(error, "fastapi", __name__) from None``, or with
`require(...)` before its imports; `EXTRA_OF` maps each optional
top-level module to its extra.
"""

from ._extras import EXTRA_OF, MissingExtra, missing_extra, missing_extra_message, require

__all__ = ["EXTRA_OF", "MissingExtra", "missing_extra", "missing_extra_message", "require"]
