"""Reading a ``text/event-stream``: bytes in, events out, as WHATWG HTML §9.2.6 says.

Theory of operation: `EventStreamDecoder` does no I/O (as h11 does not):
``feed(chunk)`` takes the bytes that arrived, in whatever pieces the
network cut them, and returns the events they completed; ``end()`` says
the stream ended, and discards an event not yet finished by its blank line.
Every rule of the format is here, once, for every driver:

- the stream is UTF-8 whatever its Content-Type's charset says, and one
  leading byte order mark is dropped (else it would hide the first field's
  name: an ``event: change`` became an unnamed event, and its change was
  never delivered);
- a line ends at CRLF, LF or a lone CR. A line is complete as soon as its
  CR arrives (a LF that follows in the next piece is the same line end),
  so a stream whose lines end in CR alone delivers each event when its
  blank line comes, not when the next piece of the stream does;
- an event is bounded: past `MAX_EVENT` characters held for one (a line
  that never ends, data lines that no blank line ever closes) ``feed``
  raises `EventTooLarge` instead of holding a hostile stream's every byte;
- a block without a data field dispatches nothing (it may still set the
  last event ID, which the next event carries), an ``id`` holding U+0000
  is ignored, and ``retry`` holds only ASCII digits, else it is ignored
  (a value of thousands of digits is read as the longest time, not refused
  by int() with a ValueError out of the watch).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from typing import Final

# WHATWG HTML §9.2.6: end-of-line = ( cr lf / cr / lf )
_LINE_END: Final = re.compile(r"\r\n|\r|\n")
_DIGITS: Final = re.compile(r"[0-9]+", re.ASCII)
_BOM: Final = "\ufeff"
# Past 16 digits (317,000 years of milliseconds) every reconnection time is
# "forever"; int() refuses texts over 4300 digits (CVE-2020-10735).
_RETRY_DIGITS: Final = 16
#: The most characters held for one event, its unfinished line included.
MAX_EVENT: Final = 1 << 20


class EventTooLarge(ValueError):
    """An event, or one of its lines, grew past the decoder's bound unfinished."""


@dataclass(frozen=True, slots=True)
class Event:
    """One dispatched event: its type ("message" if none was named), data and the last event ID."""

    event: str
    data: str
    id: str = ""


class EventStreamDecoder:
    """The events of one stream, from its bytes as they arrive."""

    def __init__(self, max_event: int = MAX_EVENT) -> None:
        self._max_event = max_event
        #: Characters held for the event being read: its data and the unfinished line.
        self._held = 0
        # §9.2.6: "Streams must be decoded using the UTF-8 decode algorithm."
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._started = False
        self._line: list[str] = []
        # The last piece ended in CR: a LF at the start of the next one ends no line.
        self._after_cr = False
        self._type = ""
        self._data: list[str] = []
        self._last_id = ""
        #: The reconnection time the stream asked for, in milliseconds (the
        #: watch waits it before reconnecting, capped, plus its backoff).
        self.retry: int | None = None

    def feed(self, chunk: bytes) -> list[Event]:
        """The events `chunk` completed (none if it ended none).

        Raises `EventTooLarge` once the event being read holds more than the
        bound: the stream is no use then.
        """
        text = self._utf8.decode(chunk)
        if not text:
            return []
        if not self._started:
            self._started = True
            # "One leading U+FEFF BYTE ORDER MARK character must be ignored if any are present."
            text = text.removeprefix(_BOM)
        position = 0
        if self._after_cr:
            self._after_cr = False
            if text.startswith("\n"):
                position = 1
        events: list[Event] = []
        while (end := _LINE_END.search(text, position)) is not None:
            self._hold(end.start() - position)
            self._line.append(text[position : end.start()])
            line = "".join(self._line)
            self._line.clear()
            self._held -= len(line)
            position = end.end()
            self._after_cr = end.group() == "\r" and position == len(text)
            event = self._field(line)
            if event is not None:
                events.append(event)
        if position < len(text):
            self._hold(len(text) - position)
            self._line.append(text[position:])
        return events

    def _hold(self, characters: int) -> None:
        self._held += characters
        if self._held > self._max_event:
            raise EventTooLarge(f"an event grew past {self._max_event} characters without its end")

    def end(self) -> None:
        """The stream ended: "any pending data must be discarded" (§9.2.6)."""
        self._utf8.decode(b"", final=True)
        self._line.clear()
        self._type = ""
        self._data.clear()
        self._held = 0

    def _field(self, line: str) -> Event | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None  # a comment
        name, colon, value = line.partition(":")
        if colon:
            value = value.removeprefix(" ")
        if name == "event":
            self._type = value
        elif name == "data":
            self._hold(len(value))
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self._last_id = value
        elif name == "retry" and _DIGITS.fullmatch(value):
            digits = value.lstrip("0") or "0"
            self.retry = int(digits) if len(digits) <= _RETRY_DIGITS else 10**_RETRY_DIGITS
        return None  # any other field, or value, is ignored

    def _dispatch(self) -> Event | None:
        data, kind = self._data, self._type or "message"
        self._data, self._type, self._held = [], "", 0
        if not data:
            # "If the data buffer is an empty string, set the data buffer and
            # the event type buffer to the empty string and return."
            return None
        return Event(kind, "\n".join(data), self._last_id)
