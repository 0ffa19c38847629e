"""`httpconflict diagnose`: what conflicted, why, and how to fix it.

Theory of operation. What a user pastes (an error message, a traceback,
``curl -i`` output, a raw response, a HAR file, a problem+json body) is
read into `evidence.Evidence`: one normalised text (JSON bodies found in
it flattened to ``path: value`` lines, so escaped strings read plainly)
and the structured facts the known forms carry (HTTP statuses, read by
`statuses` in every form people paste them; URLs, headers, problem type
URIs). The knowledge base (the TOML files of ``entries/``, loaded by
`knowledge`) is data: each entry lists clues to look for and what to tell
the user. `matching` scores every entry against the evidence and ranks
those whose required clues are all present: entries that name a system
first, then generic answers built from the message's own words ("already
exists", "locked"), then HTTP status fallbacks; no entry found means "not
recognised", never a guess. An entry's details are read from the message
that is the conflict (`records`: the log records holding the lines where its
clues were found; `places` puts unwrapped and flattened text back on its
line), so a long log's other requests and errors lend it none. `page` renders a diagnosis
or a knowledge entry as a self-contained HTML page with schema.org HowTo
JSON-LD (the service's ``/problems/{type}`` pages use it too);
`terminal` renders it with rich, and is the only module that imports
rich. `command` adds the subcommand; `run` does the work.
"""
