"""A form saved while its database is down: the browser is told, in a page, what to do.

The Flask forms app (flask_forms_app.py) runs as two server processes on
a private PostgreSQL, which the test stops. A browser's Save (Accept:
text/html first) is answered 503 as it was, but with an HTML page saying
that nothing was saved and to reload, not a problem's JSON dumped on the
screen; an API client (Accept: */*) still gets the problem. Reloading the
answer resends the same form (same key) once the database is back: it is
saved once. The pure counter at the end: count == the saves answered 302.

Measured before the fix: the 503 (and a 504 for a write whose connection
broke) came as application/problem+json to the browser.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from tests.adapters.admin_pages import read_form
from tests.private_postgres import PrivatePostgres
from tests.servers import start_app

#: What Firefox and Chrome send for a form's submission.
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.fixture
def servers(private_postgres: PrivatePostgres, tmp_path: Path) -> Iterator[list[str]]:
    """Two server processes of the forms app on the private PostgreSQL."""
    env = {
        "FORMS_DATABASE": private_postgres.url.replace("postgresql://", "postgresql+psycopg://"),
        "FORMS_KEYS": str(tmp_path / "keys.db"),
        "NAIVE": "0",
    }
    target = "tests.adapters.flask_forms_app:create_app"
    with ExitStack() as stack:
        yield [
            stack.enter_context(start_app(target, tmp_path, env=env, probe="/healthz", wsgi=True))
            for _ in range(2)
        ]


def test_a_save_while_the_database_is_down_is_a_page_saying_to_reload(
    servers: list[str], private_postgres: PrivatePostgres
) -> None:
    """503 as an HTML page to a browser, the problem to an API client; the reload saves once."""
    with httpx.Client(base_url=servers[0], headers=BROWSER, timeout=10) as browser:
        page = browser.get("/counters/new")
        form = read_form("/counters/new", page.text)
        created = browser.post("/counters/new", data={**form.values, "name": "n", "count": "0"})
        assert created.status_code == 302, created.text[:300]
        edit = created.headers["location"]
        form = read_form(edit, browser.get(edit).text)
        sent = {**form.values, "count": str(int(form.values["count"]) + 1)}
        private_postgres.stop()
        try:
            refused = browser.post(edit, data=sent)
            api = httpx.post(servers[1] + edit, data={**sent, "idempotency_key": "k" * 24})
        finally:
            private_postgres.start()
        # 503 nothing applied; 504 when the connection the pool held broke under the save.
        assert refused.status_code in (503, 504), refused.text[:300]
        assert refused.headers["content-type"] == "text/html; charset=utf-8", refused.text[:300]
        assert "{" not in refused.text  # no JSON on the screen
        assert api.status_code in (503, 504)
        assert api.headers["content-type"].startswith("application/problem+json")
        if refused.status_code == 503:
            assert "Nothing was saved" in refused.text
            assert "reload this page" in refused.text
            # The browser's Reload: the same form, the same key, now the database is back.
            for _ in range(50):
                again = browser.post(edit, data=sent)
                if again.status_code != 503:
                    break
            assert again.status_code == 302, again.text[:300]
        else:
            assert "may or may not have been saved" in refused.text
            assert "Open the page again (not Reload)" in refused.text
            # Reload resends the same key: the same page again, never a second save.
            assert browser.post(edit, data=sent).status_code == 504
            form = read_form(edit, browser.get(edit).text)
            if form.values["count"] == "0":  # not there: save again, from the page
                sent = {**form.values, "count": "1"}
                assert browser.post(edit, data=sent).status_code == 302
        assert read_form(edit, browser.get(edit).text).values["count"] == "1"
