"""A Django site whose URLs come from packages installed from PyPI, one URLconf at a time.

``ROUTES_URLCONF`` names the URLconf module of this package to serve:
Django's admin, django.contrib.auth's urls, DRF's routers, django-allauth,
and healthchecks' deliberate override of the admin's login page.
"""
