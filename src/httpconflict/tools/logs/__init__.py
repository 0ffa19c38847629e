"""`httpconflict logs`: where do our 409s, 412s and 428s come from?

Theory of operation. Access logs are read as a stream, one line at a time
(`reading`), so a log of any size needs memory only for its tallies. Each
line is handed to the parsers of its format (`formats`): our service's
text and JSON access lines, nginx/Apache/gunicorn combined lines, uvicorn
access lines, and generic JSON lines (`json_lines`); by default the format
is detected per line, so mixed and concatenated logs work, and lines no
parser recognises are counted and sampled, never fatal. A recognised line
becomes an `AccessEntry`.

Only entries answered 409, 412 or 428 are tallied in detail (`tally`): by
route template (`routes`: ids collapsed to ``{id}``, query dropped), by
method, by client, by logged cause (the problem type our service writes on
each error line), by time slot (`timeline`, which coarsens its slots if
they grow too many), and by bucket the routes and clients (`detail`,
bounded). The first timed line sets the log's zone (`zone`): every time
is shown on that clock, labelled. At the end the slots are summed into
buckets (`buckets`: ``--bucket`` or chosen from the time span), spikes are
found by a rule written down in `spikes` and named by their top routes
and clients, and everything becomes one `LogReport` (`report`): printed
as rich tables (`terminal`), as ``--json``, as a chart (`chart`,
``--svg``) or as a self-contained page (`html_page`, ``--html``).
"""
