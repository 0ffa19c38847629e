"""The troubleshooting pages: valid, self-contained, accessible HTML with HowTo JSON-LD."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from typing import Any

from httpconflict.tools.diagnose.knowledge import knowledge_base
from httpconflict.tools.diagnose.matching import diagnose
from httpconflict.tools.diagnose.page import diagnosis_page, entry_document, entry_page

VOID = {"meta", "link", "br", "img", "hr", "input"}


class Page(HTMLParser):
    """What a page holds: its elements (checked to nest), text, JSON-LD and attributes."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.jsonld: list[Any] = []
        self._in_jsonld = False
        self._in_style = False
        self.feed(html)
        self.close()
        assert self.open == [], f"unclosed elements: {self.open}"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.open.append(tag)
        self._in_jsonld = tag == "script" and dict(attrs).get("type") == "application/ld+json"
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        assert self.open, f"</{tag}> closes nothing"
        assert self.open[-1] == tag, f"</{tag}> closes <{self.open[-1]}>"
        self.open.pop()
        self._in_jsonld = self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_jsonld:
            self.jsonld.append(json.loads(data))
        elif not self._in_style:
            self.text.append(data)

    def named(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


def _check_self_contained(page: Page) -> None:
    """No external resource: no stylesheet link, image, frame or script source."""
    assert page.named("link") == []
    assert page.named("img") == []
    assert page.named("iframe") == []
    assert all("src" not in attrs for _, attrs in page.tags)
    assert page.named("html") == [{"lang": "en"}]
    assert len(page.named("h1")) == 1
    assert page.named("main")


def test_diagnosis_page() -> None:
    """--html's page: the conflict, details, cause and steps, as HTML and as a HowTo."""
    diagnosis = diagnose(
        'docker: Error response from daemon: Conflict. The container name "/web" is already '
        'in use by container "4f1e7d6b3c2a". You have to remove (or rename) that container.'
    )
    best = diagnosis.best
    assert best is not None
    page = Page(diagnosis_page(diagnosis))
    _check_self_contained(page)
    text = " ".join(page.text)
    assert best.entry.title in text
    assert "4f1e7d6b3c2a" in text
    (howto,) = page.jsonld
    assert howto["@context"] == "https://schema.org"
    assert howto["@type"] == "HowTo"
    assert [s["text"] for s in howto["step"]] == [s.replace("`", "") for s in best.steps]
    assert [s["position"] for s in howto["step"]] == list(range(1, len(best.steps) + 1))
    assert len(page.named("ol")) == 1
    assert len(page.named("li")) >= len(best.steps)


def test_input_cannot_inject_markup() -> None:
    """Details from the input are escaped, in the page and in its JSON-LD."""
    name = "</script><script>alert(1)</script>"
    diagnosis = diagnose(
        f'Error response from daemon: Conflict. The container name "/{name}" is already in '
        'use by container "4f1e7d6b3c2a".'
    )
    best = diagnosis.best
    assert best is not None
    assert best.details["container"] == name
    html = diagnosis_page(diagnosis)
    assert html.count("<script") == 1  # the JSON-LD block, and nothing from the input
    page = Page(html)
    assert page.named("script") == [{"type": "application/ld+json"}]
    assert any(name in chunk for chunk in page.text)
    (howto,) = page.jsonld
    assert name in howto["step"][1]["text"]


def test_an_unrecognised_input_gets_an_honest_page() -> None:
    """An input not recognised gives a page that says so, and no HowTo."""
    page = Page(diagnosis_page(diagnose("nothing to see here")))
    assert page.jsonld == []
    assert any("Not recognised" in chunk for chunk in page.text)


def test_every_entry_has_a_page_and_a_document() -> None:
    """Each knowledge entry renders as a page and as JSON with the same steps."""
    for entry in knowledge_base().entries:
        page = Page(entry_page(entry))
        _check_self_contained(page)
        (howto,) = page.jsonld
        document = entry_document(entry)
        assert document["howto"] == howto
        assert document["steps"] == list(entry.steps)
        assert len(howto["step"]) == len(entry.steps)
