"""A site whose page tree is served before its API, as Wagtail's catch-all does."""

SECRET_KEY = "tests-only"  # noqa: S105  # nothing here signs anything
ROOT_URLCONF = "tests.routes.apps.django_wagtail.urls"
INSTALLED_APPS: list[str] = []
DATABASES: dict[str, object] = {}
USE_TZ = True
