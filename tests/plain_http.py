"""One SSL context for the tests' httpx clients of plain-HTTP servers.

httpx makes a context for each client (loading the CA bundle: some 25 ms
of CPU); clients made by the thousand for ``http://`` URLs, which never
use it, share this one (``httpx.Client(verify=PLAIN_HTTP)``).
"""

from __future__ import annotations

import ssl

PLAIN_HTTP = ssl.create_default_context()
