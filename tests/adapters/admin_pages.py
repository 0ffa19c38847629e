"""A staff member's browser, without the browser: log in to the admin, open forms, save them."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx

_INPUT = re.compile(r"<(input|textarea)\b([^>]*)>(?:([^<]*)</textarea>)?", re.IGNORECASE)
_ATTR = re.compile(r'([\w-]+)="([^"]*)"')


@dataclass
class OpenForm:
    """A form as a page showed it: where it posts, and its fields' values."""

    url: str
    values: dict[str, str] = field(default_factory=dict)


def read_form(url: str, page: str) -> OpenForm:
    """The first form of `page` (at `url`): every input's and textarea's value."""
    form = OpenForm(url)
    for tag, attrs, text in _INPUT.findall(page):
        found = dict(_ATTR.findall(attrs))
        name = found.get("name")
        if name is None or found.get("type") in {"submit", "checkbox"}:
            continue
        value = text if tag.lower() == "textarea" else found.get("value", "")
        form.values[name] = html.unescape(value)
    return form


@contextmanager
def staff_client(base: str, user: str = "staff") -> Iterator[httpx.Client]:
    """An httpx client logged in to `base`'s admin as `user` (its password: its name)."""
    with httpx.Client(base_url=base, timeout=30) as http:
        page = http.get("/admin/login/")
        form = read_form("/admin/login/", page.text)
        form.values.update(username=user, password=user, next="/admin/")
        answer = http.post("/admin/login/", data=form.values)
        assert answer.status_code == 302, answer.text[:500]
        yield http


def open_form(http: httpx.Client, url: str) -> OpenForm:
    """The form at `url`, as GET shows it."""
    page = http.get(url)
    assert page.status_code == 200, page.text[:500]
    return read_form(url, page.text)


def save(http: httpx.Client, form: OpenForm, **changes: str) -> httpx.Response:
    """POST `form` with `changes`: 302 when saved, 200 with the form and its errors when not."""
    values = {**form.values, "_save": "Save", **changes}
    return http.post(form.url, data=values, headers={"Referer": str(http.base_url) + form.url})


def errors(page: str) -> list[str]:
    """The error messages a page shows (the admin's and Django's ``errorlist``)."""
    lists = re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', page, re.DOTALL)
    return [html.unescape(m) for block in lists for m in re.findall(r"<li>(.*?)</li>", block)]
