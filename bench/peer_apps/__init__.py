"""The peers bench/peers.py measures httpconflict's adapters against.

Each app serves ``GET /notes/<id>`` and ``PUT /notes/<id>`` for the notes of
bench/adapter_apps (ids 0 to ``ADAPTER_NOTES`` - 1 in the SQLite file
``ADAPTER_DB``), written the way the peer's own documentation shows.
"""
