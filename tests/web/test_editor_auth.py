"""The web editor and a service that asks who is calling: the token prompt, 401 and 403.

A real `httpconflict serve` and Debian's Chromium. The token is typed into the page's
sign-in form, kept in sessionStorage, and must never show in a URL, the page's text,
localStorage or the console.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.web.conftest import RestartableService
from tests.web.test_editor import create, expect, expect_state, open_editor, stored

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Request


def test_a_service_without_authentication_never_asks(
    contexts: list[BrowserContext], editor_service: RestartableService
) -> None:
    """No authentication configured: no sign-in form, no Sign out, no Authorization sent."""
    doc_id = create(editor_service, {"title": "Draft"})
    sent: list[Request] = []
    contexts[0].on("request", lambda request: sent.append(request))
    page = open_editor(contexts[0], editor_service, doc_id)
    page.get_by_label("title").fill("Edited")
    expect_state(page, "saved")
    assert stored(editor_service, doc_id) == {"title": "Edited"}
    expect(page.locator("#sign-in")).to_be_hidden()
    expect(page.get_by_role("button", name="Sign out")).to_be_hidden()
    assert sent
    assert not [r for r in sent if "authorization" in r.headers]
