"""Messages as a copy leaves them: no-break spaces, tabs, doubled spaces, lines wrapped in a
sentence, zero-width characters, a Latin-1 line in a UTF-8 log. Each was "not recognised" (or
a generic answer) before; each is the entry the message as printed gets."""

from __future__ import annotations

import pytest

from httpconflict.tools.diagnose.matching import diagnose
from httpconflict.tools.diagnose.plain import unwrap
from httpconflict.tools.diagnose.run import decoded

PG = 'ERROR:  duplicate key value violates unique constraint "users_email_key"'
MYSQL = "ERROR 1213 (40001): Deadlock found when trying to get lock; try restarting transaction"
K8S = (
    'Operation cannot be fulfilled on deployments.apps "web": the object has been modified; '
    "please apply your changes to the latest version and try again"
)
MONGO = 'E11000 duplicate key error collection: test.users index: email_1 dup key: { email: "a" }'


#: (name, message, what a copy changed in it, into what, the entry it is).
PASTED = [
    ("pg-nbsp", PG, "duplicate key", "duplicate\u00a0key", "postgresql-unique-violation"),
    ("mysql-nbsp", MYSQL, "Deadlock found", "Deadlock\u00a0found", "mysql-deadlock"),
    ("k8s-nbsp", K8S, "; please", ";\u00a0please", "kubernetes-object-modified"),
    ("mysql-tab", MYSQL, "Deadlock found", "Deadlock\tfound", "mysql-deadlock"),
    ("mysql-two-spaces", MYSQL, "Deadlock found", "Deadlock  found", "mysql-deadlock"),
    ("mongo-two-spaces", MONGO, "duplicate key", "duplicate  key", "mongodb-duplicate-key"),
    ("mysql-wrapped", MYSQL, "get lock", "get\nlock", "mysql-deadlock"),
    ("k8s-wrapped", K8S, "your changes", "your\nchanges", "kubernetes-object-modified"),
    ("pg-wrapped", PG, "unique constraint", "unique\nconstraint", "postgresql-unique-violation"),
    ("pg-zero-width", PG, "violates", "vio\u200blates", "postgresql-unique-violation"),
    (
        "couchdb-lower-case",
        "409 Document update conflict",
        "D",
        "d",
        "couchdb-document-update-conflict",
    ),
]


@pytest.mark.parametrize(
    ("text", "entry"),
    [pytest.param(m.replace(old, new), entry, id=name) for name, m, old, new, entry in PASTED],
)
def test_a_pasted_message_reads_as_printed(text: str, entry: str) -> None:
    best = diagnose(text).best
    assert best is not None, text
    assert best.entry.id == entry


def test_a_wrapped_message_keeps_its_details() -> None:
    best = diagnose(PG.replace("unique constraint", "unique\nconstraint")).best
    assert best is not None
    assert best.details["constraint"] == "users_email_key"


def test_a_latin1_line_in_a_utf8_log() -> None:
    """A German PostgreSQL server's Latin-1 line among UTF-8 lines (an emoji, stray bytes):
    each line is read in its own encoding."""
    german = "FEHLER:  doppelter Schlüsselwert verletzt Unique-Constraint »users_email_key«"
    data = "deploy ✅ started\n".encode() + german.encode("latin-1") + b"\nnext \xff line\n"
    text = decoded(data)
    assert german in text
    best = diagnose(text).best
    assert best is not None
    assert best.entry.id == "postgresql-unique-violation"
    assert best.details["constraint"] == "users_email_key"


@pytest.mark.parametrize(
    ("message", "entry", "constraint"),
    [
        pytest.param(
            "ERROR: llave duplicada viola restricción de unicidad «log_auditoria_pkey»",
            "postgresql-unique-violation",
            "log_auditoria_pkey",
            id="postgresql-spanish",
        ),
        pytest.param(
            "ОШИБКА: повторяющееся значение ключа нарушает ограничение уникальности "
            '"users_email_key"',
            "postgresql-unique-violation",
            "users_email_key",
            id="postgresql-russian",
        ),
    ],
)
def test_utf8_read_as_latin1_is_read_again(message: str, entry: str, constraint: str) -> None:
    """A log that read a server's UTF-8 as Latin-1 ("restricciÃ³n de unicidad Â«x_pkeyÂ»",
    Cyrillic as "Ð¾Ñ..."): the line is read again as UTF-8, and the message found."""
    garbled = message.encode().decode("latin-1")
    assert garbled != message
    best = diagnose("Caused by: org.postgresql.util.PSQLException: " + garbled).best
    assert best is not None, garbled
    assert best.entry.id == entry
    assert best.details["constraint"] == constraint


@pytest.mark.parametrize(
    ("message", "entry", "details"),
    [
        pytest.param(
            "FEHLER:  doppelter Schlüsselwert verletzt Unique-Constraint „users_email_key“",
            "postgresql-unique-violation",
            {"constraint": "users_email_key"},
            id="postgresql-german-low-quotes",
        ),
        pytest.param(
            "Duplicate entry ‘ana@example.com’ for key ‘users.email’",
            "mysql-duplicate-entry",
            {"value": "ana@example.com", "constraint": "users.email"},
            id="mysql-single-quotes",
        ),
        pytest.param(
            K8S.replace('"web"', "“web”"),
            "kubernetes-object-modified",
            {"resource": "deployments.apps", "name": "web"},
            id="kubernetes-double-quotes",
        ),
    ],
)
@pytest.mark.parametrize("lost", ["\ufffd", "", "\x9d"], ids=["replaced", "dropped", "kept"])
def test_utf8_read_as_windows_1252_is_read_again(
    message: str, entry: str, details: dict[str, str], lost: str
) -> None:
    """Typographic quotes read as Windows-1252 ("â€žusers_email_keyâ€œ", "â€˜aâ€™"): the
    bytes 0x80-0x9F are that code page's characters, not Latin-1's. A right double quote
    ends in 0x9D, which Windows-1252 leaves undefined: shown as U+FFFD, dropped, or kept."""
    garbled = message.encode().decode("cp1252", "replace").replace("\ufffd", lost)
    assert garbled != message
    best = diagnose(garbled).best
    assert best is not None, garbled
    assert best.entry.id == entry
    assert {key: best.details.get(key) for key in details} == details


def test_latin1_letters_that_are_not_utf8_are_left_as_they_are() -> None:
    """Only runs that are UTF-8 are read again ("Ã©" is é); Latin-1 words ("Straße", "Ärger",
    "café") and a lead byte alone are kept as they are."""
    assert unwrap("caf\u00e9 \u00c3\u00a9t\u00e9 \u00c2") == "caf\u00e9 \u00e9t\u00e9 \u00c2"
    assert unwrap("Stra\u00dfe \u00c4rger") == "Stra\u00dfe \u00c4rger"
    # Windows-1252's own characters after a lead byte that make no UTF-8: kept ("é™": a
    # lead byte of three with one continuation byte).
    assert unwrap("caf\u00e9\u2122 \u00ef\u20ac!") == "caf\u00e9\u2122 \u00ef\u20ac!"


def test_indented_lines_and_aligned_columns_are_left_alone() -> None:
    """A stack frame's tab and a table's columns are not taken for a sentence."""
    trace = "Traceback:\n\tat org.example.Main.run(Main.java:1)\n" + MYSQL
    best = diagnose(trace).best
    assert best is not None
    assert best.entry.id == "mysql-deadlock"
