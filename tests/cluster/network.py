"""Network namespaces on a bridge: one "host" per service instance, made and removed by a test.

Theory of operation: each instance runs in a network namespace of its own
(``ip netns``), joined to a bridge in the root namespace by a veth pair.
The bridge has the /24's first address: PostgreSQL, Redis and haproxy run
in the root namespace and listen there, so every byte between an instance
and them crosses that instance's veth, as it would cross a wire. Cutting
an instance's link (``ip link set DEV down`` on its root-side end) cuts it
off from everything at once, its open connections included.

Names carry the test process's pid (``hcc<pid>...``) and the /24 is chosen
by it too (and skipped if taken), so two runs on one machine do not meet.
A run that crashed leaves its namespaces, links and processes behind: the
next run removes those of every pid that no longer runs (`remove_leftovers`),
including the processes it recorded in its state file.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

PREFIX = "hcc"
IP = shutil.which("ip") or "/usr/sbin/ip"
#: Where each run records what it started (pids, directories), for the cleanup of a crashed run.
STATE_DIR = Path(tempfile.gettempdir())
_OURS = re.compile(rf"{PREFIX}(\d+)(?:-\d+|br|v\d+)")


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([IP, *args], check=check, capture_output=True, text=True, timeout=30)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _state_file(pid: int) -> Path:
    return STATE_DIR / f"{PREFIX}{pid}.json"


def remove_leftovers() -> list[str]:
    """Remove the namespaces, links and recorded processes of runs whose process is gone."""
    removed: list[str] = []
    names = ip("netns", "list").stdout.split()
    names += [
        line.split(":")[1].strip().split("@")[0]
        for line in ip("-o", "link", "show").stdout.splitlines()
    ]
    for name in names:
        found = _OURS.fullmatch(name)
        if found is None or _alive(int(found.group(1))):
            continue
        if "-" in name:
            for pid in ip("netns", "pids", name, check=False).stdout.split():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)
            ip("netns", "delete", name, check=False)
        else:
            ip("link", "delete", name, check=False)
        removed.append(name)
    for state in STATE_DIR.glob(f"{PREFIX}*.json"):
        owner = int(state.stem.removeprefix(PREFIX))
        if _alive(owner):
            continue
        recorded = json.loads(state.read_text())
        for pid in recorded.get("pids", []):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for command in reversed(recorded.get("commands", [])):  # the last made, first undone
            subprocess.run(command, check=False, capture_output=True, timeout=60)
        state.unlink()
        removed.append(state.name)
    return removed


def _free_subnet(pid: int) -> ipaddress.IPv4Network:
    """A /24 in 10.64.0.0/10 picked by `pid`, skipping any the machine has an address in."""
    used = [
        ipaddress.IPv4Interface(line.split()[3]).network
        for line in ip("-o", "-4", "addr", "show").stdout.splitlines()
    ]
    space = list(ipaddress.IPv4Network("10.64.0.0/10").subnets(new_prefix=24))
    for step in range(len(space)):
        subnet = space[(pid + step * 7919) % len(space)]
        if not any(subnet.overlaps(other) for other in used):
            return subnet
    raise RuntimeError("no free /24 in 10.64.0.0/10")


@dataclass
class Network:
    """A bridge and `hosts` namespaces on it, named after this process; `create()`, `remove()`."""

    hosts: int
    pid: int = field(default_factory=os.getpid)
    subnet: ipaddress.IPv4Network = field(init=False)
    #: What `record` was told: processes and commands the cleanup of a crash needs.
    recorded: dict[str, list[object]] = field(default_factory=lambda: {"pids": [], "commands": []})

    def __post_init__(self) -> None:
        self.subnet = _free_subnet(self.pid)

    @property
    def bridge(self) -> str:
        return f"{PREFIX}{self.pid}br"

    @property
    def gateway(self) -> str:
        """The bridge's address, in the root namespace: where the databases listen."""
        return str(self.subnet[1])

    def namespace(self, host: int) -> str:
        return f"{PREFIX}{self.pid}-{host}"

    def link(self, host: int) -> str:
        """The root-side end of `host`'s veth pair: its wire."""
        return f"{PREFIX}{self.pid}v{host}"

    def address(self, host: int) -> str:
        return str(self.subnet[10 + host])

    def create(self) -> None:
        prefix = self.subnet.prefixlen
        ip("link", "add", self.bridge, "type", "bridge")
        ip("addr", "add", f"{self.gateway}/{prefix}", "dev", self.bridge)
        ip("link", "set", self.bridge, "up")
        for host in range(self.hosts):
            namespace, link, inside = self.namespace(host), self.link(host), f"{PREFIX}{self.pid}p"
            ip("netns", "add", namespace)
            ip("link", "add", link, "type", "veth", "peer", "name", inside)
            ip("link", "set", inside, "netns", namespace)
            ip("link", "set", link, "master", self.bridge)
            ip("link", "set", link, "up")
            ip("-n", namespace, "link", "set", inside, "name", "eth0")
            ip("-n", namespace, "addr", "add", f"{self.address(host)}/{prefix}", "dev", "eth0")
            ip("-n", namespace, "link", "set", "eth0", "up")
            ip("-n", namespace, "link", "set", "lo", "up")

    def record(self, *, pid: int | None = None, command: list[str] | None = None) -> None:
        """Note a process to kill, or a command to run, should this run crash before `remove`."""
        if pid is not None:
            self.recorded["pids"].append(pid)
        if command is not None:
            self.recorded["commands"].append(command)
        _state_file(self.pid).write_text(json.dumps(self.recorded))

    def cut(self, host: int) -> None:
        """Take `host`'s wire down: nothing goes in or out, open connections hang."""
        ip("link", "set", self.link(host), "down")

    def mend(self, host: int) -> None:
        ip("link", "set", self.link(host), "up")

    def exec(self, host: int) -> list[str]:
        """The command prefix that runs a program in `host`'s namespace."""
        return [IP, "netns", "exec", self.namespace(host)]

    def remove(self) -> None:
        """Kill what runs in the namespaces, delete them, the links and the bridge."""
        for host in range(self.hosts):
            namespace = self.namespace(host)
            for pid in ip("netns", "pids", namespace, check=False).stdout.split():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)
            ip("netns", "delete", namespace, check=False)
            ip("link", "delete", self.link(host), check=False)
        ip("link", "delete", self.bridge, check=False)
        _state_file(self.pid).unlink(missing_ok=True)
