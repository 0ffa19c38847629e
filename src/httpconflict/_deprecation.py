"""Old names that keep working for one release, each with a `DeprecationWarning`.

A renamed function stays importable under its old name for one release;
calling it (or, for a changed call, calling it the old way) warns once per
call site with what replaces it, then does what it always did.
"""

from __future__ import annotations

import warnings


def warn_deprecated(old: str, new: str, *, stacklevel: int = 3) -> None:
    """Warn that `old` goes in the next release and `new` replaces it.

    `stacklevel` 3 points at the caller of the function that warns.
    """
    warnings.warn(
        f"{old} is deprecated and goes in the next release; use {new}",
        DeprecationWarning,
        stacklevel=stacklevel,
    )
