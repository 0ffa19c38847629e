"""The site as a WSGI application, as ``startproject`` writes it."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.routes.apps.django_problems.settings")

application = get_wsgi_application()
