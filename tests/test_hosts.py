"""The Host allow-list decides on Host values; loopback and absolute-form targets are told apart."""

from __future__ import annotations

import pytest

from httpconflict._hosts import (
    LOOPBACK_HOSTS,
    AllowedHosts,
    HostDecision,
    host_patterns,
    is_loopback,
    target_authority,
)

#: Listening on every IPv4 address (what S104 warns of: the case under test).
EVERY_ADDRESS = "0.0.0.0"  # noqa: S104
ALLOWED, MISDIRECTED, MALFORMED = (
    HostDecision.ALLOWED,
    HostDecision.MISDIRECTED,
    HostDecision.MALFORMED,
)
DEFAULT = AllowedHosts(LOOPBACK_HOSTS)


@pytest.mark.parametrize(
    ("values", "decision"),
    [
        pytest.param([b"localhost"], ALLOWED, id="localhost"),
        pytest.param([b"localhost:8000"], ALLOWED, id="localhost-any-port"),
        pytest.param([b"LocalHost.:8000"], ALLOWED, id="rfc3986-3.2.2-host-case-insensitive"),
        pytest.param([b"127.0.0.1:1"], ALLOWED, id="ipv4-loopback"),
        pytest.param([b"[::1]:8000"], ALLOWED, id="ipv6-loopback"),
        pytest.param([b" localhost "], ALLOWED, id="optional-whitespace"),
        pytest.param([b"evil.example"], MISDIRECTED, id="dns-rebinding-name"),
        pytest.param([b"localhost.evil.example"], MISDIRECTED, id="loopback-name-as-prefix"),
        pytest.param([b"127.0.0.2"], MISDIRECTED, id="other-loopback-address-not-listed"),
        pytest.param([b""], MISDIRECTED, id="empty-host-names-none"),
        pytest.param([], MALFORMED, id="rfc9112-3.2-no-host"),
        pytest.param([b"localhost", b"localhost"], MALFORMED, id="rfc9112-3.2-two-host-lines"),
        pytest.param([b"local host"], MALFORMED, id="space-in-name"),
        pytest.param([b"localhost:80:80"], MALFORMED, id="two-ports"),
        pytest.param([b"localhost:http"], MALFORMED, id="port-not-digits"),
        pytest.param([b"localhost:99999"], MALFORMED, id="port-out-of-range"),
        pytest.param([b"user@localhost"], MALFORMED, id="userinfo-is-no-host"),
        pytest.param([b"[::1"], MALFORMED, id="unclosed-ip-literal"),
        pytest.param(["localhost\u00b2".encode()], MALFORMED, id="non-ascii-digit-port"),
        # int() refuses a text of over 4300 digits (a ValueError, not a decision).
        pytest.param([b"localhost:" + b"9" * 5000], MALFORMED, id="port-of-5000-digits"),
        pytest.param([b"localhost:" + b"0" * 5000 + b"80"], ALLOWED, id="port-80-after-5000-zeros"),
        pytest.param([b"localhost:000000"], ALLOWED, id="port-0-of-six-zeros"),
        pytest.param([b"localhost:065536"], MALFORMED, id="zero-then-port-out-of-range"),
    ],
)
def test_the_default_list_allows_loopback_names_only(
    values: list[bytes], decision: HostDecision
) -> None:
    """Loopback names pass with any port; other hosts are misdirected; a bad Host is malformed."""
    assert DEFAULT.check(values).decision is decision


def test_a_port_in_a_pattern_is_required_and_a_wildcard_covers_subdomains() -> None:
    """name:port allows that port only; *.domain allows names under it, not the domain itself."""
    allowed = AllowedHosts(["api.example.com:8443", "*.example.org"])
    assert allowed.check([b"api.example.com:8443"]).decision is ALLOWED
    assert allowed.check([b"api.example.com"]).decision is MISDIRECTED
    assert allowed.check([b"a.b.example.org:1"]).decision is ALLOWED
    assert allowed.check([b"example.org"]).decision is MISDIRECTED
    assert allowed.check([b"badexample.org"]).decision is MISDIRECTED


def test_star_allows_anything_even_no_host() -> None:
    """'*' leaves the Host to a proxy in front: nothing is refused."""
    assert AllowedHosts(["*"]).check([]).decision is ALLOWED
    assert AllowedHosts(["*"]).check([b"evil.example"]).decision is ALLOWED


@pytest.mark.parametrize("pattern", ["http://x", "a b", "", "x:port", "*.", "*.[::1]", "x/y"])
def test_a_pattern_that_is_not_a_host_is_refused(pattern: str) -> None:
    """A mistyped --allowed-host fails at start, not as refusals later."""
    with pytest.raises(ValueError, match="not a host pattern"):
        AllowedHosts([pattern])


@pytest.mark.parametrize(
    ("listen", "expected"),
    [
        pytest.param("127.0.0.1", LOOPBACK_HOSTS, id="loopback-adds-nothing"),
        pytest.param(EVERY_ADDRESS, LOOPBACK_HOSTS, id="every-ipv4-address-names-no-host"),
        pytest.param("::", LOOPBACK_HOSTS, id="every-ipv6-address-names-no-host"),
        pytest.param("10.0.0.5", (*LOOPBACK_HOSTS, "10.0.0.5"), id="a-specific-address"),
        pytest.param("fd00::5", (*LOOPBACK_HOSTS, "[fd00::5]"), id="an-ipv6-address-bracketed"),
        pytest.param("box.lan", (*LOOPBACK_HOSTS, "box.lan"), id="a-name"),
    ],
)
def test_the_default_patterns_follow_the_listen_address(
    listen: str, expected: tuple[str, ...]
) -> None:
    """Loopback names always, and the listen address when it names one host."""
    assert host_patterns(listen) == expected
    assert host_patterns(listen, ["api.example.com"]) == (*expected, "api.example.com")


@pytest.mark.parametrize(
    ("listen", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        (EVERY_ADDRESS, False),
        ("::", False),
        ("192.168.1.2", False),
        ("box.lan", False),
        ("", False),
    ],
)
def test_only_loopback_addresses_and_localhost_are_loopback(listen: str, loopback: bool) -> None:
    """A name other than localhost may resolve anywhere, so it is not loopback."""
    assert is_loopback(listen) is loopback


@pytest.mark.parametrize(
    ("target", "authority"),
    [
        pytest.param(b"/v1/notes/a", None, id="origin-form"),
        pytest.param(b"*", None, id="asterisk-form"),
        pytest.param(b"http://evil.example/v1/notes", b"evil.example", id="absolute-form"),
        pytest.param(b"HTTP://h:81?q", b"h:81", id="absolute-form-query-only"),
        pytest.param(b"http://u:pw@h/x", b"h", id="userinfo-dropped"),
        pytest.param(b"h:443", None, id="authority-form"),
    ],
)
def test_an_absolute_form_target_names_its_host(target: bytes, authority: bytes | None) -> None:
    """RFC 9112 §3.2.2: the target's authority, not the Host field, names the host."""
    assert target_authority(target) == authority


def test_a_long_host_is_decided_but_not_kept() -> None:
    """A Host longer than any host name is decided each time, never kept for the next request."""
    allowed = AllowedHosts(LOOPBACK_HOSTS)
    for n in range(10):
        assert allowed.check([b"h%d" % n + b"a" * 60_000]).decision is MISDIRECTED
    assert allowed.check([b"localhost"]).decision is ALLOWED
    assert allowed._decide.cache_info().currsize == 1
