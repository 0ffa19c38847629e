"""Incidents: a failure logged once, on one line, under an id the client's answer carries.

    incident = new_incident()
    log_incident(incident, "GET /v1/notes/7 answered 500", error, level=logging.ERROR)
    raise Unavailable("the database does not answer", incident=incident)

The client is told what failed in words and the incident id; the
operator finds the rest (the exception, the driver's own text, where it
was raised) in ONE line of the ``httpconflict`` log under that id.
`unavailable(what, error)` does all three for a store that cannot be
reached (a 503 with Retry-After); `describe(error)` is that line's text.
"""

from ._incidents import describe, log_incident, new_incident, unavailable

__all__ = ["describe", "log_incident", "new_incident", "unavailable"]
