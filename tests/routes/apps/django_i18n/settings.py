"""A site in wger's shape: its pages under i18n_patterns (urls.py says which lose)."""

import os

SECRET_KEY = "tests-only"  # noqa: S105  # nothing here signs anything
ROOT_URLCONF = "tests.routes.apps.django_i18n." + os.environ.get("ROUTES_URLCONF", "urls")
INSTALLED_APPS: list[str] = []
DATABASES: dict[str, object] = {}
USE_I18N = True
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("de", "German")]
USE_TZ = True
