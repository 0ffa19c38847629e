"""Database outages: an app's database failing, as the 503 (or 504) its client can act on.

    try:
        row = await pool.fetchrow("SELECT ...")
    except Exception as error:
        failure = outage_error(error, request.method)
        if failure is None:
            raise  # the app's own bug or configuration: its 500
        raise failure from error  # Unavailable (503) or WriteOutcomeUnknown (504)

`outage(error)` says whether a driver's error (psycopg, psycopg2,
asyncpg, PyMySQL, mysqlclient, aiomysql, SQLite, under SQLAlchemy or
Django or not; redis-py, sync or asyncio) reports the database failing the request, and how
(`OutageKind`): REFUSED (no connection), GAVE_UP (the statement was
rolled back) or LOST (the connection broke under it: a write may have
been applied). `outage_error(error, method)` is the answer: a 503
`Unavailable` with Retry-After, or for a write whose connection was lost a
504 `WriteOutcomeUnknown`, its cause logged under the answer's incident
id. Every adapter's error handling answers with it already; this is for
code of your own (a worker, an exception handler of another framework).
"""

from ._outage import Outage, OutageKind, outage, outage_error

__all__ = ["Outage", "OutageKind", "outage", "outage_error"]
