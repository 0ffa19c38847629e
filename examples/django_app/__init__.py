"""The example API in Django + Django REST framework; run with ``python -m examples.django_app``."""
