"""Which fields a duplicate's 409 names: the fields it names, not words of its own members."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.audit.invoke import audit
from tests.servers import start_app

ARTICLE = '{"article": {"title": "audit {uid}", "description": "d", "body": "0"}}'


@pytest.fixture(scope="module")
def slug_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """tests/audit/slug_app.py on its own SQLite file under uvicorn; its base URL."""
    log_dir = tmp_path_factory.mktemp("slug")
    env = {"SLUG_DATABASE": str(log_dir / "articles.sqlite3")}
    with start_app("tests.audit.slug_app:create_app", log_dir, env=env, probe="/healthz") as url:
        yield url


def test_a_409_naming_another_field_is_not_said_to_name_the_one_given(slug_api: str) -> None:
    """A RealWorld app's duplicate title is a 409 whose conflicts name "slug", the column the
    title is made into. Every problem has a "title" member: the audit said "the answer names
    title" of it; it now says the answer names slug."""
    run = audit(
        f"{slug_api}/api/articles",
        *("--envelope", "article", "--body", ARTICLE, "--id-field", "slug"),
        *("--counter", "body", "--unique", "title", "--json"),
    )
    check = run.check("unique")
    assert check["verdict"] == "pass", check
    said, together = check["evidence"]
    assert said.endswith("-> 409 Conflict; the answer names slug, not title"), said
    assert together.endswith("sent at once -> 201 x1, 409 x3"), together
    assert run.report()["cleanup"]["left"] == []


@pytest.mark.parametrize(
    ("body", "said"),
    [
        # A problem of another library's: its own "title" member names no field.
        (b'{"title": "Conflict", "status": 409, "detail": "taken"}', ""),
        (b'{"title": "Conflict", "detail": "this title is taken"}', "; the answer names title"),
        # REST framework's and the RealWorld spec's shapes name the field by a member.
        (b'{"title": ["article with this title already exists."]}', "; the answer names title"),
        (b'{"errors": {"title": ["has already been taken"]}}', "; the answer names title"),
        (b'{"errors": {"subtitle": ["has already been taken"]}}', ""),
        (b"title taken", "; the answer names title"),
    ],
)
def test_a_field_is_named_by_a_word_of_the_answer_not_a_problem_member(
    body: bytes, said: str
) -> None:
    from httpconflict.tools.audit.uniqueness import _naming

    assert _naming(("title",), body) == said
