"""What the tools print from their input: nothing a terminal acts on, even in --json."""

from __future__ import annotations

import io
import json

from httpconflict.tools._output import print_json

#: OSC 52 (writes the clipboard), BEL, DEL, an 8-bit CSI, a right-to-left override.
HOSTILE = "\x1b]52;c;ZWNobyBoaQ==\x07\x7f\x9b2J\u202egnp.exe\u2066"


def test_json_output_escapes_what_a_terminal_acts_on() -> None:
    """``--json`` writes C1 controls, DEL and bidi marks as \\u escapes: the same JSON value."""
    data = {"path": f"/v1/{HOSTILE}", HOSTILE: [HOSTILE], "plain": "é ü 😀"}
    out = io.StringIO()
    print_json(data, out)
    text = out.getvalue()
    for unsafe in ("\x1b", "\x07", "\x7f", "\x9b", "\u202e", "\u2066"):
        assert unsafe not in text, repr(unsafe)
    assert json.loads(text) == data
    assert "é ü 😀" in text  # what a terminal only shows stays as it is
