"""Django's admin, with the models django.contrib.auth registers (users, groups)."""

from django.contrib import admin
from django.urls import path

urlpatterns = [path("admin/", admin.site.urls)]
