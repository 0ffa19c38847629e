"""`httpconflict audit URL`: a black-box audit of a live JSON API's conflict handling.

Theory of operation: the user names a collection URL. The audit creates
its own test resources there with POST (the body comes from a template,
``{uid}`` in it made unique per resource), learns each item's URL from
``Location`` or from an ``id`` member in the answer, runs its checks
against them one after the other, and deletes what it created (with
If-Match when the API offers ETags). Every request goes through one
`Target`, which spends a `Budget`: at most ``--max-requests`` requests
(two of them set aside per created resource for its cleanup) within
``--timeout`` seconds (cleanup gets a short grace after). A check that
runs out of budget or time, or gets no answer, is *skipped*, never
guessed.

The checks (weights in `catalog.py`): ETags sent, strong and stable;
304 to If-None-Match; a stale If-Match refused; a write without a
precondition refused with 428; a lost-update race of careful
read-modify-write clients, counted exactly; duplicate POSTs with and
without an Idempotency-Key; a duplicate unique value (when the user says
which field is unique); RFC 9457 problem bodies on every error answer
seen. Each check returns a `CheckResult` (a verdict and its evidence);
the report renders them for a terminal, as JSON, or as one
self-contained HTML page.

Module map: ``command`` (argparse only) -> ``main`` -> ``runner``, which
drives the checks in ``validators``, ``preconditions``, ``race``,
``idempotency``, ``uniqueness`` and ``problems`` through ``target``;
``terminal``, ``html_page`` and ``svg`` render the ``report``.
"""
