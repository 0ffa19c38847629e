"""A site in Label Studio's shape: its settings read Django's own settings while they load.

Label Studio's settings start Sentry as they load, and Sentry's setup
reads ``django.conf.settings.SENTRY_DSN``: that works when
DJANGO_SETTINGS_MODULE names the module being loaded (manage.py sets it
first), and raises ImproperlyConfigured otherwise.
"""

from django.conf import settings as configured

SECRET_KEY = "tests-only"  # noqa: S105  # nothing here signs anything
ROOT_URLCONF = "tests.routes.apps.django_unanchored.urls"
INSTALLED_APPS: list[str] = []
DATABASES: dict[str, object] = {}
USE_TZ = True
ERROR_REPORTING_DSN = None

# As Label Studio's sentry.init_sentry() does, while this module loads.
ERROR_REPORTING_ON = bool(configured.ERROR_REPORTING_DSN)
