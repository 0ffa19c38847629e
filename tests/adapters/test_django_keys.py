"""`httpconflict.django.record_answer`: a keyed answer recorded in the view's ``atomic()`` block.

On a real SQLite file, the real PostgreSQL and the real MariaDB, with the
table made by `AbstractIdempotencyKey` (Django's schema editor, as a
migration makes it): the key's row commits or rolls back with the side
effect, the claim counts as completed only once it has committed, a second
request recording under the key loses (`IdempotencyKeyTaken`, its side
effect rolled back), also while the first is still in its transaction and
when its own transaction read before the first committed (REPEATABLE
READ, MariaDB's default). Keys differing in case or a trailing space are
two keys, and a 1 MiB answer is replayed whole by the middleware's store
reading the same table.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

pytest.importorskip("django")

import django
from django.conf import settings

if not settings.configured:
    settings.configure(DATABASES={}, INSTALLED_APPS=[], USE_TZ=True)
django.setup()

from django.db import connections, models, transaction  # noqa: E402

from httpconflict import IdempotencyKeyTaken  # noqa: E402
from httpconflict._idempotency_request import CLAIM_KEY, KeyedRequest  # noqa: E402
from httpconflict.asgi import IdempotencyPolicy  # noqa: E402
from httpconflict.django import record_answer  # noqa: E402
from httpconflict.django.models import AbstractIdempotencyKey  # noqa: E402
from tests.own_database import own_database  # noqa: E402

TRANSACTIONAL = IdempotencyPolicy(transactional=True)
HEADERS = {"Content-Type": "application/json", "Location": "/v1/orders/1"}


class Key(AbstractIdempotencyKey):
    class Meta(AbstractIdempotencyKey.Meta):
        app_label = "hc_django_keys"
        db_table = "idempotency_keys"


class Order(models.Model):  # type: ignore[misc]  # django-stubs are not installed
    item = models.CharField(max_length=40)

    class Meta:
        app_label = "hc_django_keys"
        db_table = "hc_django_orders"


def _database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Django's settings of a fresh database of the kind `request.param` names."""
    if request.param == "sqlite":
        yield {"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp_path / "keys.db")}
    elif request.param == "mariadb":
        db: dict[str, Any] = request.getfixturevalue("mariadb_database")
        yield {
            "ENGINE": "django.db.backends.mysql",
            "NAME": db["database"],
            "USER": db["user"],
            "HOST": db["host"],
            "PORT": str(db["port"]),
        }
    else:
        server: str = request.getfixturevalue("postgres_server")
        with own_database(server, "hc_exactly6_django") as (name, url):
            parts = urlsplit(url)
            yield {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": name,
                "USER": parts.username,
                "HOST": parts.hostname,
                "PORT": str(parts.port),
            }
            connections[f"hc_keys_{request.param}"].close()


@pytest.fixture(scope="module", params=["sqlite", "postgres", "mariadb"])
def alias(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A database alias of the test's own, with the tables made as a migration makes them."""
    name = f"hc_keys_{request.param}"
    for database in _database(request, tmp_path_factory.mktemp("keys")):
        connections.settings[name] = connections.configure_settings({"default": database})[
            "default"
        ]
        with connections[name].schema_editor() as editor:
            editor.create_model(Order)
            editor.create_model(Key)
        try:
            yield name
        finally:
            with connections[name].schema_editor() as editor:
                editor.delete_model(Key)
                editor.delete_model(Order)
            connections[name].close()
            del connections.settings[name]


@pytest.fixture
def using(alias: str) -> Iterator[str]:
    yield alias
    Key.objects.using(alias).all().delete()
    Order.objects.using(alias).all().delete()


def claim(key: str = "order-1") -> KeyedRequest:
    scope: dict[str, Any] = {"headers": []}
    request = KeyedRequest.begin(
        TRANSACTIONAL, scope, "POST", "/v1/orders", key, b"{}", now=time.time()
    )
    scope[CLAIM_KEY] = request
    return request


def order(using: str, mine: KeyedRequest, body: bytes = b'{"id": 1}') -> None:
    Order.objects.using(using).create(item="tea")
    record_answer(mine, 201, HEADERS, body, using=using)


def counts(using: str) -> tuple[int, int]:
    return Order.objects.using(using).count(), Key.objects.using(using).count()


def ordering(
    using: str, mine: KeyedRequest, ready: Callable[[], object], outcomes: list[Any]
) -> threading.Thread:
    """A started thread ordering under `mine` once `ready()` returns (error or None: `outcomes`)."""

    def run() -> None:
        ready()
        try:
            with transaction.atomic(using=using):
                order(using, mine)
        except BaseException as error:  # handed to the test's thread
            outcomes.append(error)
        else:
            outcomes.append(None)
        finally:
            connections[using].close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_the_key_commits_with_the_side_effect_or_neither(using: str) -> None:
    """Committed: the order and its key, completed after the commit; rolled back: neither."""
    mine, undone = claim("a"), claim("b")
    with transaction.atomic(using=using):
        order(using, mine)
        assert not mine.completed
    assert mine.completed

    def failing_view() -> None:
        with transaction.atomic(using=using):
            order(using, undone)
            raise RuntimeError("the view failed after recording")

    with pytest.raises(RuntimeError):
        failing_view()
    assert not undone.completed
    assert counts(using) == (1, 1)


def test_a_second_record_under_the_key_loses_and_rolls_back(using: str) -> None:
    """A retry's attempt: IdempotencyKeyTaken, claim.taken, its order rolled back."""
    with transaction.atomic(using=using):
        order(using, claim())
    retry = claim()
    with pytest.raises(IdempotencyKeyTaken), transaction.atomic(using=using):
        order(using, retry)
    assert retry.taken
    assert not retry.completed
    assert counts(using) == (1, 1)


def test_a_duplicate_waits_for_the_first_transaction_then_loses(using: str) -> None:
    """The first still in its transaction: the duplicate's record waits for it, then loses."""
    first, duplicate = claim(), claim()
    recorded = threading.Event()
    outcome: list[BaseException | None] = []
    thread = ordering(using, duplicate, recorded.wait, outcome)
    with transaction.atomic(using=using):
        order(using, first)
        recorded.set()
        time.sleep(0.5)  # the duplicate is at its INSERT (PostgreSQL, MariaDB) or its lock (SQLite)
    thread.join(30)
    assert len(outcome) == 1
    assert isinstance(outcome[0], IdempotencyKeyTaken)
    assert first.completed
    assert duplicate.taken
    assert counts(using) == (1, 1)


def test_a_duplicate_that_read_before_the_first_committed_loses(using: str) -> None:
    """The duplicate's transaction read before the first committed: it still sees the key taken.

    (Under REPEATABLE READ, MariaDB's default, a plain read would show the
    duplicate its older snapshot, without the first's row.)
    """
    first, duplicate = claim(), claim()
    if connections[using].vendor == "sqlite":
        pytest.skip("SQLite has one writer: the first could not commit under the late reader")
    outcome: list[BaseException | None] = []

    def late_view() -> None:
        with transaction.atomic(using=using):
            Key.objects.using(using).count()  # its snapshot
            ordering(using, first, lambda: None, outcome).join(30)
            order(using, duplicate)

    with pytest.raises(IdempotencyKeyTaken):
        late_view()
    assert outcome == [None]
    assert duplicate.taken
    assert counts(using) == (1, 1)


def test_keys_differing_in_case_or_space_are_two_and_a_big_answer_is_whole(using: str) -> None:
    """'order-A', 'order-a' and 'order-a ' are three keys; a 1 MiB body comes back whole.

    (MariaDB's default collations compare them as one: a caller would be
    replayed another request's answer. A BLOB holds 64 KiB.)
    """
    body = uuid.uuid4().bytes * (1 << 16)  # 1 MiB
    keys = ("order-A", "order-a", "order-a ")
    for key in keys:
        with transaction.atomic(using=using):
            order(using, claim(key), body)
    assert counts(using) == (3, 3)
    stored = sorted(Key.objects.using(using).values_list("key", flat=True))
    assert stored == sorted(keys)
    found = Key.objects.using(using).get(key="order-a ")
    assert bytes(found.body) == body
