"""The corpus: errors as users paste them, each with the answer diagnose must give.

One file per case in corpus/, and corpus/expectations.toml saying, for
each, the entry ranked first, details that must be found and the
runners-up, or that the input must not be recognised.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from httpconflict.tools.diagnose.knowledge import OWN_PREFIX, knowledge_base
from httpconflict.tools.diagnose.matching import diagnose

CORPUS = Path(__file__).parent / "corpus"
EXPECTATIONS: dict[str, dict[str, Any]] = tomllib.loads(
    (CORPUS / "expectations.toml").read_text(encoding="utf-8")
)
CASES = sorted(p.name for p in CORPUS.iterdir() if p.name != "expectations.toml")
RECOGNISED = [name for name in CASES if EXPECTATIONS.get(name, {}).get("recognised", True)]
UNRECOGNISED = [name for name in CASES if name not in RECOGNISED]
# A placeholder left unfilled, such as "{container|NAME}".
UNFILLED = re.compile(r"\{[a-z_]+(?:\|[^{}]*)?\}")


def _read(name: str) -> str:
    return (CORPUS / name).read_text(encoding="utf-8")


def test_every_case_has_an_expectation() -> None:
    """Each corpus file has an expectation, and each expectation a file."""
    assert set(CASES) == set(EXPECTATIONS)


def test_the_corpus_is_large_and_varied() -> None:
    """At least 40 recognised cases, several look-alikes, in many forms."""
    assert len(RECOGNISED) >= 40
    assert len(UNRECOGNISED) >= 5
    forms = {form for name in CASES for form in diagnose(_read(name)).evidence.forms}
    assert {
        "Python traceback",
        "Java stack trace",
        "JavaScript stack trace",
        "HTTP response",
        "problem+json body",
        "JSON document",
        "XML error",
    } <= forms
    assert any(form.startswith("HAR file") for form in forms)


def test_every_written_entry_has_a_case() -> None:
    """Each entry of knowledge.toml is the answer to at least one corpus case."""
    answered = {EXPECTATIONS[name]["id"] for name in RECOGNISED}
    written = {e.id for e in knowledge_base().entries if not e.id.startswith(OWN_PREFIX)}
    assert written - answered == set()


@pytest.mark.parametrize("name", RECOGNISED)
def test_recognised(name: str) -> None:
    """The case is diagnosed as its expected entry, with its details and runners-up."""
    expected = EXPECTATIONS[name]
    diagnosis = diagnose(_read(name))
    best = diagnosis.best
    assert best is not None, diagnosis.not_recognised()
    assert best.entry.id == expected["id"], [m.entry.id for m in diagnosis.matches]
    for key, value in expected.get("details", {}).items():
        assert best.details.get(key) == value, (key, dict(best.details))
    runners_up = [m.entry.id for m in diagnosis.runners_up]
    assert runners_up == expected.get("runners_up", [])
    # What the user reads names what was found, and nothing is left unfilled.
    for text in (best.conflicted, best.cause, *best.steps):
        assert not UNFILLED.search(text), text
    assert best.steps
    assert diagnosis.to_dict()["recognised"] is True


@pytest.mark.parametrize("name", UNRECOGNISED)
def test_not_recognised(name: str) -> None:
    """A look-alike, or an error that is not a conflict, is not recognised: no guess."""
    diagnosis = diagnose(_read(name))
    assert diagnosis.matches == (), [m.entry.id for m in diagnosis.matches]
    message = diagnosis.not_recognised()
    assert message.startswith("Not recognised")
    assert "Looked for" in message
    assert "Docker" in message
    assert diagnosis.to_dict()["recognised"] is False


def test_a_detail_is_said_where_it_matters() -> None:
    """Extracted details appear in what conflicted and in the steps, not only in a table."""
    docker = diagnose(_read("docker-cli-name-in-use.txt")).best
    assert docker is not None
    assert "web" in docker.conflicted
    assert "`docker rm -f web`" in docker.steps[1]
    postgres = diagnose(_read("psycopg2-unique.txt")).best
    assert postgres is not None
    assert "email" in postgres.conflicted
    assert "users_email_key" in postgres.conflicted


def test_missing_details_read_naturally() -> None:
    """Without a detail, a text uses its fallback wording, not a hole."""
    modified = diagnose(
        "the object has been modified; please apply your changes to the latest version "
        "and try again"
    ).best
    assert modified is not None
    assert modified.details == {}
    assert modified.conflicted.startswith('The object named "(not shown)" changed after you')
    named = diagnose(_read("kubectl-object-modified.txt")).best
    assert named is not None
    assert named.conflicted.startswith('The deployments.apps named "checkout" changed after')
