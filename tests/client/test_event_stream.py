"""The event-stream decoder, fed bytes by hand: WHATWG HTML §9.2.6, however the bytes are cut."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from httpconflict._event_stream import Event, EventStreamDecoder, EventTooLarge


def decode(*pieces: bytes) -> list[list[Event]]:
    """The events each piece completed, in turn."""
    decoder = EventStreamDecoder()
    return [decoder.feed(piece) for piece in pieces]


def events(stream: bytes) -> list[Event]:
    return [event for done in decode(stream) for event in done]


@pytest.mark.parametrize(
    ("stream", "expected"),
    [
        pytest.param(
            b"event: change\nid: 1\ndata: x\n\n",
            [Event("change", "x", "1")],
            id="whatwg-9.2.6-lf",
        ),
        pytest.param(
            b"event: change\r\nid: 1\r\ndata: x\r\n\r\n",
            [Event("change", "x", "1")],
            id="whatwg-9.2.6-crlf",
        ),
        pytest.param(
            b"event: change\rid: 1\rdata: x\r\r",
            [Event("change", "x", "1")],
            id="whatwg-9.2.6-cr-alone",
        ),
        pytest.param(
            b"data: a\r\ndata: b\rdata: c\n\n",
            [Event("message", "a\nb\nc")],
            id="whatwg-9.2.6-line-ends-mixed-and-data-lines-joined-by-lf",
        ),
        pytest.param(
            b"\xef\xbb\xbfevent: change\ndata: x\n\n",
            [Event("change", "x")],
            id="whatwg-9.2.6-one-leading-bom-is-ignored",
        ),
        pytest.param(
            b"\xef\xbb\xbf\xef\xbb\xbfevent: change\ndata: x\n\n",
            [Event("message", "x")],
            id="whatwg-9.2.6-only-one-bom-is-ignored",
        ),
        pytest.param(
            b": comment\n:\ndata: x\n: another\n\n",
            [Event("message", "x")],
            id="whatwg-9.2.6-comments-ignored",
        ),
        pytest.param(
            b"event: change\nid: 7\n\ndata: x\n\n",
            [Event("message", "x", "7")],
            id="whatwg-9.2.6-no-data-dispatches-nothing-but-sets-the-id",
        ),
        pytest.param(
            b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n",
            [Event("message", "a", "1"), Event("message", "b", "1")],
            id="whatwg-9.2.6-an-id-with-nul-is-ignored",
        ),
        pytest.param(
            b"id: 1\ndata: a\n\nid\ndata: b\n\n",
            [Event("message", "a", "1"), Event("message", "b", "")],
            id="whatwg-9.2.6-an-empty-id-resets-it",
        ),
        pytest.param(
            b"data\n\ndata:\ndata\n\n",
            [Event("message", ""), Event("message", "\n")],
            id="whatwg-9.2.6-a-field-without-colon-has-the-empty-value",
        ),
        pytest.param(
            b"data:  x\n\n",
            [Event("message", " x")],
            id="whatwg-9.2.6-only-one-space-after-the-colon-is-dropped",
        ),
        pytest.param(
            b"retry: 1000\nretry: soon\nfoo: bar\nDATA: no\ndata: x\n\n",
            [Event("message", "x")],
            id="whatwg-9.2.6-retry-and-unknown-fields-dispatch-nothing-of-their-own",
        ),
        pytest.param(
            b"data: x\n\ndata: half",
            [Event("message", "x")],
            id="whatwg-9.2.6-an-unfinished-event-is-not-dispatched",
        ),
        pytest.param(
            "data: é\n\n".encode(),
            [Event("message", "é")],
            id="whatwg-9.2.6-always-utf-8",
        ),
    ],
)
def test_the_format(stream: bytes, expected: list[Event]) -> None:
    """Each rule of the event-stream format, on a stream given in one piece."""
    assert events(stream) == expected


def test_retry_is_read_when_all_digits() -> None:
    """``retry`` sets the reconnection time only when it is all ASCII digits."""
    decoder = EventStreamDecoder()
    decoder.feed(b"retry: 2500\nretry: 1.5\nretry: -1\n")
    assert decoder.retry == 2500


def test_a_retry_of_thousands_of_digits_is_read_as_the_longest_time() -> None:
    """``retry`` with 5000 digits is the longest time (int() refused it: ValueError out of
    the watch); leading zeros do not count."""
    decoder = EventStreamDecoder()
    decoder.feed(b"retry: " + b"9" * 5000 + b"\n")
    assert decoder.retry == 10**16
    decoder.feed(b"retry: " + b"0" * 5000 + b"1500\n")
    assert decoder.retry == 1500


def test_an_event_ending_in_cr_is_dispatched_by_the_piece_that_ends_it() -> None:
    """A lone CR ends its line at once: the event comes with its own piece, not with the next."""
    first = b"event: change\rid: 1\rdata: x\r\r"
    second = b"\nevent: change\rid: 2\rdata: y\r\r"
    assert decode(first, second) == [[Event("change", "x", "1")], [Event("change", "y", "2")]]


def test_a_crlf_cut_between_its_cr_and_its_lf_is_one_line_end() -> None:
    """The LF of a CRLF that arrives in the next piece ends no second line."""
    assert decode(b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n") == [
        [],
        [],
        [Event("message", "a\nb")],
        [],
    ]


def test_a_character_cut_between_pieces_is_read_whole() -> None:
    """A UTF-8 sequence (and the byte order mark) split across pieces decodes as one character."""
    stream = "\ufeffdata: é€\n\n".encode()
    assert [e for done in decode(*(bytes([b]) for b in stream)) for e in done] == [
        Event("message", "é€")
    ]


def test_the_end_discards_an_unfinished_event() -> None:
    """Ending the stream after an event's fields but before its blank line dispatches nothing."""
    decoder = EventStreamDecoder()
    assert decoder.feed(b"id: 1\nevent: change\ndata: x\n") == []
    decoder.end()
    assert decoder.feed(b"\n") == []


LINE_ENDS = st.sampled_from(["\n", "\r", "\r\n"])
STREAMS = st.lists(
    st.tuples(
        st.sampled_from(["change", "heartbeat", ""]),
        st.lists(
            st.text(st.characters(exclude_characters="\r\n\x00", codec="utf-8"), max_size=8),
            max_size=3,
        ),
        st.text("0123456789", max_size=3),
        LINE_ENDS,
    ),
    max_size=5,
)


@given(STREAMS, st.lists(st.integers(min_value=0), max_size=6))
def test_how_the_bytes_are_cut_changes_nothing(
    stream: list[tuple[str, list[str], str, str]], cuts: list[int]
) -> None:
    """Any stream, cut anywhere into pieces, gives the same events as in one piece."""
    text = ""
    for kind, data, id_, end in stream:
        fields = [f"event: {kind}"] if kind else []
        fields += [f"id: {id_}"] + [f"data: {line}" for line in data]
        text += end.join(fields) + end + end
    whole = text.encode()
    points = sorted({cut % (len(whole) + 1) for cut in cuts})
    pieces = [whole[a:b] for a, b in zip([0, *points], [*points, len(whole)], strict=True)]
    assert [e for done in decode(*pieces) for e in done] == events(whole)


@pytest.mark.parametrize(
    "pieces",
    [
        pytest.param([b"data: " + b"x" * 60] * 3, id="a-line-that-never-ends"),
        pytest.param([b"data: " + b"x" * 30 + b"\n"] * 6, id="data-lines-no-blank-line-ends"),
        pytest.param([b": " + b"x" * 200], id="a-comment-that-never-ends"),
    ],
)
def test_an_event_held_past_the_bound_is_refused(pieces: list[bytes]) -> None:
    """A hostile stream cannot make the decoder hold its every byte: EventTooLarge past 100."""
    decoder = EventStreamDecoder(max_event=100)

    def feed_all() -> None:
        for piece in pieces:
            decoder.feed(piece)

    with pytest.raises(EventTooLarge):
        feed_all()


def test_the_bound_is_per_event() -> None:
    """Many events, each under the bound, in one piece and over many: all delivered."""
    stream = b"".join(b"id: %d\ndata: %s\n\n" % (n, b"x" * 80) for n in range(50))
    assert len(EventStreamDecoder(max_event=100).feed(stream)) == 50
    decoder = EventStreamDecoder(max_event=100)
    got = [e for i in range(0, len(stream), 7) for e in decoder.feed(stream[i : i + 7])]
    assert [e.id for e in got] == [str(n) for n in range(50)]
