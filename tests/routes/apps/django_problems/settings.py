"""A Django site with known URL problems (urls.py says which)."""

SECRET_KEY = "tests-only"  # noqa: S105  # nothing here signs anything
ROOT_URLCONF = "tests.routes.apps.django_problems.urls"
INSTALLED_APPS: list[str] = []
DATABASES: dict[str, object] = {}
USE_TZ = True
