"""The site as an ASGI application, as ``startproject`` writes it."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.routes.apps.django_clean.settings")

application = get_asgi_application()
