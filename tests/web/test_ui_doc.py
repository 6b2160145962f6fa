"""docs/ui.md shows every page of the web app (issue 17: "a screenshot of every page, in Chinese
and in English"): each route of web/src/App.tsx has a section there with its two screenshots,
every screenshot it names is in docs/ui/, and every section's route is one of App.tsx. A page
added without a shot fails here: re-run `make screenshots` (tools/ui_screenshots.py, where the
new page's route and words go into PAGES)."""

from __future__ import annotations

import re
from pathlib import Path

from fourflow.services.webhooks import EVENT_KINDS

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "web" / "src" / "App.tsx"
DOC = ROOT / "docs" / "ui.md"
SHOTS = ROOT / "docs" / "ui"
WEBHOOKS = ROOT / "web" / "src" / "pages" / "webhookModel.ts"


def app_routes(source: str) -> set[str]:
    """The paths of App.tsx's routes (``<Route path="/x" ...``), the catch-all left out."""
    return {p for p in re.findall(r'<Route\s+path="([^"]+)"', source) if p != "*"}


def doc_sections(text: str) -> dict[str, tuple[str, list[str]]]:
    """docs/ui.md's sections: name -> (its route, the images it shows)."""
    sections: dict[str, tuple[str, list[str]]] = {}
    for block in re.split(r"^## ", text, flags=re.MULTILINE)[1:]:
        name = block.splitlines()[0].strip()
        route = re.search(r"^Route: `([^`]+)`", block, flags=re.MULTILINE)
        images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", block)
        sections[name] = (route.group(1) if route else "", images)
    return sections


def test_the_parsers_read_what_they_are_given() -> None:
    source = '<Route path="/" element={<Home />} />\n{x && <Route path="/bank/queue" element={<Q />} />}\n<Route path="*" />'
    assert app_routes(source) == {"/", "/bank/queue"}
    text = "# t\n\n## a\n\nRoute: `/x`. words\n\n![a](ui/a.zh.png)\n![a](ui/a.en.png)\n\n## b\n\nno route\n"
    assert doc_sections(text) == {"a": ("/x", ["ui/a.zh.png", "ui/a.en.png"]), "b": ("", [])}


def test_docs_ui_shows_every_route_of_the_app_in_both_languages() -> None:
    routes = app_routes(APP.read_text(encoding="utf-8"))
    assert {"/", "/register", "/supervision", "/supervision/network", "/webhooks"} <= routes
    sections = doc_sections(DOC.read_text(encoding="utf-8"))
    shown: dict[str, list[str]] = {}
    for name, (route, images) in sections.items():
        assert route in routes, f"docs/ui.md section {name!r}: route {route!r} is not in App.tsx"
        assert sorted(images) == sorted([f"ui/{name}.en.png", f"ui/{name}.zh.png"]), (name, images)
        for image in images:
            assert (DOC.parent / image).is_file(), f"docs/ui.md section {name!r}: {image} missing"
        shown.setdefault(route, []).append(name)
    missing = sorted(routes - shown.keys())
    assert not missing, (
        f"routes of App.tsx without a screenshot in docs/ui.md: {missing} (make screenshots)"
    )
    stray = sorted(p.name for p in SHOTS.glob("*.png") if p.name.split(".")[0] not in sections)
    assert not stray, f"docs/ui/ holds screenshots docs/ui.md does not show: {stray}"


def test_the_webhooks_screen_offers_the_api_s_event_kinds() -> None:
    source = WEBHOOKS.read_text(encoding="utf-8")
    block = re.search(r"EVENT_KINDS = \[(.*?)\]", source, flags=re.DOTALL)
    assert block, "web/src/pages/webhookModel.ts: EVENT_KINDS not found"
    assert re.findall(r'"([a-z_.]+)"', block.group(1)) == list(EVENT_KINDS)
