"""`httpconflict token create|list|revoke`: the service's API tokens, from the command line.

A token is printed once, when it is created, on stdout alone (so that
``TOKEN=$(httpconflict token create ci --role writer)`` captures just it);
everything else goes to stderr. Only its hash is stored. A worker keeps
a valid token for `KEPT_FOR` (a second), so `revoke` waits that long after
its commit: once it has returned, every worker refuses the token.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from datetime import UTC, datetime
from typing import Any

from ..access import unstorable_name
from ..redaction import redact, secrets_in
from ..storage.tokens import ApiToken, TokenExists, new_token, token_hash, token_hint, token_store
from ..storage.tokens.kept import KEPT_FOR
from ..tools._arguments import argparse_error, name
from .config import DEFAULT_DB
from .locations import check_database


def _token_name(text: str) -> str:
    """A new token's name: a `name` that makes a principal id every store takes."""
    if (unstorable := unstorable_name("token:" + name(text))) is not None:
        raise argparse_error(f"token:<name> {unstorable}")
    return text


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add `token` and its subcommands to the CLI."""
    token = commands.add_parser(
        "token",
        help="create, list and revoke the service's API tokens",
        description="API tokens of `httpconflict serve --auth tokens`, stored hashed in "
        "the service's database.",
    )
    actions = token.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="make a token and print it, once")
    create.add_argument(
        "name", type=_token_name, help="the token's name (no spaces); the principal is token:<name>"
    )
    create.add_argument(
        "--role",
        action="append",
        type=name,
        default=[],
        dest="roles",
        help="a role, no spaces (repeat for more)",
    )
    listing = actions.add_parser("list", help="list the tokens (never the tokens themselves)")
    listing.add_argument("--json", action="store_true", help="JSON lines for programs")
    revoke = actions.add_parser(
        "revoke", help="revoke a token; no worker takes it once this returns"
    )
    revoke.add_argument("name", type=name)
    for parser in (create, listing, revoke):
        parser.add_argument(
            "--db",
            type=_database,
            default=DEFAULT_DB,
            help=f"the service's SQLite file or postgresql:// URL (default: ./{DEFAULT_DB})",
        )
    token.set_defaults(run=run)


def _database(location: str) -> str:
    try:
        check_database(location)
    except ValueError as error:
        # A location quoted back may carry its password.
        raise argparse_error(redact(str(error), secrets_in(location))) from None
    return location


def run(args: argparse.Namespace) -> int:
    # A driver's message may quote the --db location, password and all.
    secrets = secrets_in(args.db)
    try:
        return asyncio.run(_run(args))
    except ImportError:
        raise  # a missing extra (postgres): the command line names it
    except (TokenExists, LookupError, ValueError) as error:
        print(f"httpconflict token: {redact(str(error), secrets)}", file=sys.stderr)
        return 1
    except Exception as error:  # the database unreachable: one line, no traceback
        message = redact(str(error), secrets)
        print(f"httpconflict token: {type(error).__name__}: {message}", file=sys.stderr)
        return 3


async def _run(args: argparse.Namespace) -> int:
    store = token_store(args.db)
    await store.open()
    try:
        if args.action == "create":
            secret = new_token()
            roles = tuple(dict.fromkeys(args.roles))
            await store.create(
                ApiToken(args.name, roles, time.time(), token_hint(secret)), token_hash(secret)
            )
            print(secret, flush=True)
            print(
                f"token {args.name!r} created with roles {list(roles)}: it is shown only "
                "this once; send it as Authorization: Bearer <token>",
                file=sys.stderr,
            )
        elif args.action == "list":
            for token in await store.list():
                _print(token, as_json=args.json)
        elif not await store.revoke(args.name, now=time.time()):
            raise LookupError(f"no valid token is named {args.name!r}")
        else:
            # The workers forget what they kept of it within KEPT_FOR.
            await asyncio.sleep(KEPT_FOR)
            print(f"token {args.name!r} revoked: no worker takes it any more", file=sys.stderr)
    finally:
        await store.close()
    return 0


def _print(token: ApiToken, *, as_json: bool) -> None:
    if as_json:
        print(
            json.dumps(
                {
                    "name": token.name,
                    "roles": list(token.roles),
                    "created": _time(token.created),
                    "hint": token.hint,
                    "revoked": _time(token.revoked),
                }
            )
        )
        return
    state = f"revoked {_time(token.revoked)}" if token.revoked is not None else "valid"
    roles = ",".join(token.roles) or "-"
    print(f"{token.name}\t{roles}\t{token.hint}\tcreated {_time(token.created)}\t{state}")


def _time(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
