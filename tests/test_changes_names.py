"""One name, one class: the feed's 410 error is `SinceExpired`, the client's is `ChangesExpired`.

Both were called ``ChangesExpired`` (``httpconflict.changes`` and
``httpconflict.httpx``), so an ``except ChangesExpired`` around a watch
could import the one a watch never raises, and let the 410 through.
"""

from __future__ import annotations

import warnings

import pytest

import httpconflict.changes
import httpconflict.httpx


def test_changes_expired_names_only_what_a_watch_raises() -> None:
    """The change feed module exports `SinceExpired`, unrelated to the client's error."""
    assert "ChangesExpired" not in httpconflict.changes.__all__
    assert "SinceExpired" in httpconflict.changes.__all__
    client, feed = httpconflict.httpx.ChangesExpired, httpconflict.changes.SinceExpired
    assert not issubclass(client, feed)
    assert not issubclass(feed, client)
    with pytest.raises(feed) as expired:
        httpconflict.changes.check_since(3, oldest=5, latest=9)
    assert expired.value.oldest == 5


def test_the_old_name_still_imports_with_a_warning_naming_both() -> None:
    """``from httpconflict.changes import ChangesExpired`` still works for one release: it is
    `SinceExpired`, and the warning names what to use on each side."""
    with pytest.warns(DeprecationWarning, match="ChangesExpired is deprecated") as warned:
        from httpconflict.changes import ChangesExpired
    assert ChangesExpired is httpconflict.changes.SinceExpired
    message = str(warned[0].message)
    assert "httpconflict.changes.SinceExpired" in message
    assert "httpconflict.httpx.ChangesExpired" in message
    assert warned[0].filename == __file__


def test_other_names_are_no_attributes_and_do_not_warn() -> None:
    """A name the module never had is an AttributeError, without a warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(AttributeError, match="Expired"):
            _ = httpconflict.changes.ChangesGoneExpired
