"""A Django site whose URL patterns look alike but are all served."""

SECRET_KEY = "tests-only"  # noqa: S105  # nothing here signs anything
ROOT_URLCONF = "tests.routes.apps.django_clean.urls"
INSTALLED_APPS: list[str] = []
DATABASES: dict[str, object] = {}
USE_TZ = True
