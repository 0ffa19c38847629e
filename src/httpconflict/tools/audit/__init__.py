"""`httpconflict audit URL`: a black-box audit of a live JSON API's conflict handling.

Theory of operation: the user names a collection URL. The audit creates
its own test resources there with POST (the body comes from a template,
``{uid}`` in it made unique per resource; a trailing-slash redirect is
followed once), learns each item's URL from ``Location`` or from an
``id`` member in the answer, runs its checks against them one after the
other, and deletes what it created, whatever happened (naming the
current version in If-Match). Every request goes through one `Target`,
which spends a `Budget`: at most ``--max-requests`` requests (two of them
set aside per created resource for its cleanup) within ``--timeout``
seconds (cleanup gets a short grace after). A check that runs out of
budget or time, or gets no answer, is *skipped*, never guessed; one that
got a 5xx answer fails.

A write names the version it read as the API takes it (`versions`):
If-Match with the ETag, and the body's version members (CouchDB's
``_rev``, django-concurrency's ``version``), learned from the first write.

The checks (weights in `catalog.py`): ETags sent, strong and stable;
304 to If-None-Match; a write naming a stale version refused, even with
the current content; a write naming none refused with 428; the same two
for DELETE; a lost-update race of careful read-modify-write clients of a
pure counter, counted exactly; duplicate POSTs with and without an
Idempotency-Key; a duplicate unique value (when the user says which
field is unique); RFC 9457 problem bodies on every error answer seen.
Each check returns a `CheckResult` (a verdict and its evidence, each
sentence saying what was sent and what came back); the report renders
them for a terminal, as JSON, or as one self-contained HTML page.

Module map: ``command`` (argparse only) -> ``main`` -> ``runner``, which
sets up in ``setup`` and drives the checks in ``validators``,
``preconditions``, ``deletes``, ``race``, ``idempotency``, ``uniqueness``
and ``problems`` through ``target`` (its answers: ``exchange``);
``terminal``, ``html_page`` and ``svg`` render the ``report``.
"""
