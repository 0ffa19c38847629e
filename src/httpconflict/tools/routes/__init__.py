"""``httpconflict routes``: the routes an app declares but never serves.

Theory of operation. A request goes to the first route, in the
framework's own order, that matches its path and serves its method; a
route that an earlier one always beats is dead code, and worse when the
docs describe it (fastapi#5543). The tool loads the app named as uvicorn
names it (_target.py), and a loader per framework (_starlette.py for
FastAPI too, _flask.py, _django.py) translates its routes into one model
(_model.py): methods, a pattern of segments whose parameters carry their
converter (_converters.py), and the rank at which the framework tries
each route. The matching (_patterns.py: "does this pattern match every
path of that one?") and the rules (_rules.py: duplicate, shadowed,
doc-mismatch, mount-overlap) are written once, on the model, and report
only what they can prove: never a partial overlap, a different method,
or a method the framework added by itself. _accept.py reads the
overrides a project accepts on purpose from its pyproject.toml and sets
those findings apart. _report.py prints a table or JSON; _run.py ties it
together for command.py.
"""
