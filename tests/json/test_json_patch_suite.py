"""The public json-patch-tests suite (RFC 6902), every record, read where it lies.

The suite is not copied into the project: it is read from
``../shared/data/json-patch-tests/`` next to the project root. Without it
these tests skip, and with CI=true they fail, so CI cannot pass by skipping.

Each patch is read as a server reads a body (`parse_json`, which refuses
duplicate member names), then applied. That is how the two records marked
disabled for having an operation with two "op" members are passed: the
strict reader refuses them, and a lenient one would keep only the last
"op". The other disabled records are run like the rest.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Final, NoReturn

import pytest

from httpconflict import (
    InvalidDocument,
    JsonPatchError,
    MalformedPatch,
    PatchNotApplicable,
    PatchTestFailed,
    apply_json_patch,
    json_equal,
    parse_json,
)
from httpconflict._json_value import copy_json

SUITE: Final = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "json-patch-tests"
FILES: Final = ("tests.json", "spec_tests.json")
IN_CI: Final = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# Records this implementation does not pass, by id, with the reason. None.
KNOWN_FAILURES: Final[dict[str, str]] = {}

# Which error each of the suite's error descriptions is: the service answers
# each class with its own status, so the class is checked, not just "raises".
ERROR_CLASSES: Final[dict[str, type[Exception]]] = {
    "Out of bounds (upper)": PatchNotApplicable,
    "Out of bounds (lower)": PatchNotApplicable,
    "index is greater than number of items in array": PatchNotApplicable,
    "Object operation on array target": PatchNotApplicable,
    "replace op should fail with missing parent key": PatchNotApplicable,
    "remove op shouldn't remove from array with bad number": PatchNotApplicable,
    "replace op shouldn't replace in array with bad number": PatchNotApplicable,
    "copy op shouldn't work with bad number": PatchNotApplicable,
    "move op shouldn't work with bad number": PatchNotApplicable,
    "add op shouldn't add to array with bad number": PatchNotApplicable,
    "missing 'from' location": PatchNotApplicable,
    "removing a nonexistent field should fail": PatchNotApplicable,
    "removing a nonexistent index should fail": PatchNotApplicable,
    "path /a does not exist -- missing objects are not created recursively": PatchNotApplicable,
    "add to a non-existent target": PatchNotApplicable,
    "test op should fail": PatchTestFailed,
    "test op shouldn't get array element 1": PatchTestFailed,
    "test op should reject the array value, it has leading zeros": PatchTestFailed,
    "string not equivalent": PatchTestFailed,
    "number is not equal to string": PatchTestFailed,
    "missing 'path' parameter": MalformedPatch,
    "null is not valid value for 'path'": MalformedPatch,
    "JSON Pointer should start with a slash": MalformedPatch,
    "missing 'value' parameter": MalformedPatch,
    "missing 'from' parameter": MalformedPatch,
    "Unrecognized op 'spam'": MalformedPatch,
    # Refused by the strict JSON reader, before any patching.
    "patch has two 'op' members": InvalidDocument,
    "operation has two 'op' members": InvalidDocument,
}


class _Members(list[tuple[str, Any]]):
    """An object as read from the file: its members in order, duplicates kept."""


def _to_text(value: Any) -> str:
    """JSON text for a value read with `_Members`, duplicated members included."""
    if isinstance(value, _Members):
        return "{" + ",".join(f"{json.dumps(n)}:{_to_text(v)}" for n, v in value) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_to_text(v) for v in value) + "]"
    return json.dumps(value)


def _load() -> list[Any]:
    if not SUITE.is_dir():
        return [pytest.param(None, id="suite-missing")]
    params = []
    for name in FILES:
        text = (SUITE / name).read_text(encoding="utf-8")
        for position, record in enumerate(json.loads(text, object_pairs_hook=_Members)):
            fields = dict(record)
            if "patch" not in fields:
                continue  # a record with only a comment
            comment = re.sub(r"[^a-z0-9]+", "-", str(fields.get("comment", "")).lower())
            case_id = f"{name.removesuffix('.json')}-{position:03d}"
            case_id += f"-{comment.strip('-')[:40]}" if comment.strip("-") else ""
            marks = []
            if case_id in KNOWN_FAILURES:
                marks.append(pytest.mark.xfail(reason=KNOWN_FAILURES[case_id], strict=True))
            params.append(pytest.param(record, id=case_id, marks=marks))
    return params


def _suite_missing() -> NoReturn:
    message = f"the json-patch-tests suite is not at {SUITE}"
    if IN_CI:
        pytest.fail(f"CI=true: {message}", pytrace=False)
    pytest.skip(message)


@pytest.mark.parametrize("record", _load())
def test_record(record: _Members | None) -> None:
    """Each record gives its expected document, or raises the class of error it describes."""
    if record is None:
        _suite_missing()
    fields = dict(record)
    document = parse_json(_to_text(fields["doc"]).encode())
    before = copy_json(document)
    if "error" in fields:
        expected_error = ERROR_CLASSES.get(fields["error"])
        assert expected_error is not None, f"classify the suite's error {fields['error']!r}"
        with pytest.raises(expected_error):
            apply_json_patch(document, parse_json(_to_text(fields["patch"]).encode()))
    else:
        result = apply_json_patch(document, parse_json(_to_text(fields["patch"]).encode()))
        # The one record with neither "expected" nor "error" only tests.
        expected = parse_json(_to_text(fields.get("expected", fields["doc"])).encode())
        assert json_equal(result, expected)
    assert json_equal(document, before)


def test_the_suite_is_read() -> None:
    """Both files are found and every record is run (or the suite is absent and reported)."""
    records = _load()
    if records[0].values == (None,):
        _suite_missing()
    assert len(records) == 95 + 17
    assert all(issubclass(cls, JsonPatchError | InvalidDocument) for cls in ERROR_CLASSES.values())
