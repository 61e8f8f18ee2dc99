"""The demo issue as a reader's browser draws it: headless Chromium, at the width of a
phone (375 px) and of a desktop mail client's reading pane (800 px), light and dark.

One demo build and one browser serve the whole module; each check opens its own page.
"""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from digest.preview import page_heights, screenshot, serve
from digest.render import oneline
from tests.chromium import browser, chromium_or_skip, contrast, luminance, png_size
from tests.golden import build_demo

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

    from digest.pipeline import RunResult

pytestmark = pytest.mark.chromium

WIDTHS = (375, 800)
CONTAINER_MAX = 600

# The effective background of an element: the first ancestor-or-self with an opaque one.
COLOURS_JS = """
const parse = (css) => {
  const m = css.match(/rgba?\\(([^)]+)\\)/);
  if (!m) return null;
  const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
  return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
};
const background = (el) => {
  for (; el; el = el.parentElement) {
    const c = parse(getComputedStyle(el).backgroundColor);
    if (c && c[3] > 0) return c;
  }
  return [255, 255, 255, 1];
};
"""


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunResult, Path]:
    chromium_or_skip()  # skip before the build when there is no browser
    workdir = tmp_path_factory.mktemp("demo")
    result, _ = build_demo(workdir)
    return result, workdir / "out"


@pytest.fixture(scope="module")
def chrome(demo: tuple[RunResult, Path]) -> Iterator[Browser]:
    with browser() as launched:
        yield launched


@contextmanager
def opened(chrome: Browser, html: Path, width: int, scheme: str = "light") -> Iterator[Page]:
    context = chrome.new_context(
        viewport={"width": width, "height": 800},
        color_scheme=scheme,  # type: ignore[arg-type]
    )
    try:
        page = context.new_page()
        page.goto(html.resolve().as_uri(), wait_until="load")
        yield page
    finally:
        context.close()


def digest_html(demo: tuple[RunResult, Path]) -> Path:
    return demo[1] / "digest.html"


@pytest.mark.parametrize("width", WIDTHS)
def test_no_horizontal_scrolling(chrome: Browser, demo: tuple[RunResult, Path], width: int) -> None:
    with opened(chrome, digest_html(demo), width) as page:
        sizes = page.evaluate(
            """() => ({inner: innerWidth,
                       html: document.documentElement.scrollWidth,
                       body: document.body.scrollWidth})"""
        )
    assert sizes["inner"] == width
    assert sizes["html"] <= width, f"the page scrolls sideways at {width} px: {sizes}"
    assert sizes["body"] <= width, f"the body scrolls sideways at {width} px: {sizes}"


STORY_LINKS_JS = """(titles) => {
  const squash = (s) => s.replace(/\\s+/g, " ").trim();
  const links = [...document.querySelectorAll("a")];
  return titles.map((title) => {
    const link = links.find((a) => squash(a.textContent) === title);
    if (!link) return {title, found: false};
    const box = link.getBoundingClientRect();
    const lines = [...link.getClientRects()].map((r) => ({left: r.left, right: r.right}));
    const heading = link.closest("h1, h2, h3, p, td") || link.parentElement;
    let clippedBy = null;
    for (let el = link.parentElement; el && el !== document.documentElement;
         el = el.parentElement) {
      const s = getComputedStyle(el);
      if (s.overflowX === "visible" && s.overflowY === "visible") continue;
      const r = el.getBoundingClientRect();
      if (box.left < r.left - 0.5 || box.right > r.right + 0.5 ||
          box.top < r.top - 0.5 || box.bottom > r.bottom + 0.5) {
        clippedBy = el.tagName + "." + el.className;
      }
    }
    return {
      title, found: true,
      visible: link.checkVisibility({opacityProperty: true, visibilityProperty: true}),
      left: box.left, right: box.right, width: box.width, height: box.height,
      lines, clippedBy, fontSize: parseFloat(getComputedStyle(link).fontSize),
      overflowing: heading.scrollWidth > heading.clientWidth + 0.5,
      innerWidth,
    };
  });
}"""


@pytest.mark.parametrize("width", WIDTHS)
def test_every_story_is_visible(chrome: Browser, demo: tuple[RunResult, Path], width: int) -> None:
    issue = demo[0].digest
    assert issue is not None
    titles = [oneline(story.article.title) for story in issue.stories]
    assert titles, "the demo issue has stories"
    with opened(chrome, digest_html(demo), width) as page:
        found = page.evaluate(STORY_LINKS_JS, titles)
    for link in found:
        title = link["title"]
        assert link["found"], f"no link reads {title!r} at {width} px"
        assert link["visible"], f"{title!r} is hidden at {width} px"
        assert link["width"] > 0 and link["height"] > 0, f"{title!r} has no size: {link}"
        assert link["left"] >= 0, f"{title!r} starts off-screen at {width} px: {link}"
        assert link["right"] <= link["innerWidth"], f"{title!r} runs off at {width} px: {link}"
        for line in link["lines"]:
            assert line["left"] >= 0 and line["right"] <= link["innerWidth"], (title, line)
        assert link["clippedBy"] is None, f"{title!r} is clipped by {link['clippedBy']}"
        assert not link["overflowing"], f"{title!r} overflows its heading at {width} px"
        assert link["fontSize"] >= 16, f"{title!r} is too small to read: {link['fontSize']} px"


CONTAINER_JS = """() => {
  const box = document.querySelector("table.container").getBoundingClientRect();
  const cell = getComputedStyle(document.querySelector(".page-cell"));
  return {width: box.width, left: box.left, right: box.right, innerWidth,
          padding: parseFloat(cell.paddingLeft) + parseFloat(cell.paddingRight)};
}"""


def test_container_is_600_px_and_centred_on_a_desktop(
    chrome: Browser, demo: tuple[RunResult, Path]
) -> None:
    with opened(chrome, digest_html(demo), 800) as page:
        box = page.evaluate(CONTAINER_JS)
    assert box["width"] <= CONTAINER_MAX, box
    assert box["width"] >= CONTAINER_MAX - 1, f"the container shrank at 800 px: {box}"
    assert abs(box["left"] - (800 - box["right"])) <= 1, f"not centred: {box}"


def test_container_fills_a_phone(chrome: Browser, demo: tuple[RunResult, Path]) -> None:
    with opened(chrome, digest_html(demo), 375) as page:
        box = page.evaluate(CONTAINER_JS)
    assert abs(box["width"] - (375 - box["padding"])) <= 1, f"not the full width: {box}"
    assert box["width"] >= 375 - 24, f"the page padding eats the phone's width: {box}"


DARK_JS = (
    "() => {"
    + COLOURS_JS
    + """
  const summaries = [...document.querySelectorAll(".story-summary")];
  return {
    body: background(document.body),
    container: background(document.querySelector("table.container")),
    summaries: summaries.map((p) => ({
      text: p.textContent.trim().slice(0, 40),
      colour: parse(getComputedStyle(p).color),
      background: background(p),
    })),
  };
}"""
)


def rgb(colour: list[float]) -> tuple[float, float, float]:
    return (colour[0], colour[1], colour[2])


@pytest.mark.parametrize("width", WIDTHS)
def test_dark_mode_is_dark_with_readable_summaries(
    chrome: Browser, demo: tuple[RunResult, Path], width: int
) -> None:
    with opened(chrome, digest_html(demo), width, scheme="dark") as page:
        colours = page.evaluate(DARK_JS)
    assert luminance(rgb(colours["body"])) < 0.05, f"the page is light in dark mode: {colours}"
    assert luminance(rgb(colours["container"])) < 0.05, f"the container is light: {colours}"
    assert colours["summaries"], "the demo issue has story summaries"
    for summary in colours["summaries"]:
        assert luminance(rgb(summary["colour"])) > 0.5, f"summary text is not light: {summary}"
        ratio = contrast(rgb(summary["colour"]), rgb(summary["background"]))
        assert ratio >= 4.5, f"summary contrast {ratio:.2f} < 4.5 in dark mode: {summary}"


def test_light_mode_summaries_are_readable(chrome: Browser, demo: tuple[RunResult, Path]) -> None:
    with opened(chrome, digest_html(demo), 800) as page:
        colours = page.evaluate(DARK_JS)
    for summary in colours["summaries"]:
        ratio = contrast(rgb(summary["colour"]), rgb(summary["background"]))
        assert ratio >= 4.5, f"summary contrast {ratio:.2f} < 4.5: {summary}"


# Every element with text of its own, visible, against its effective background.
TEXTS_JS = (
    "() => {"
    + COLOURS_JS
    + """
  const found = [];
  for (const el of document.body.querySelectorAll("*")) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || !el.checkVisibility({opacityProperty: true, visibilityProperty: true})) continue;
    if (el.getBoundingClientRect().width === 0) continue;
    const s = getComputedStyle(el);
    found.push({
      element: el.tagName.toLowerCase() + (el.className ? "." + el.className : ""),
      text: el.textContent.trim().replace(/\\s+/g, " ").slice(0, 40),
      colour: parse(s.color), background: background(el),
      size: parseFloat(s.fontSize), weight: parseInt(s.fontWeight, 10),
    });
  }
  return found;
}"""
)


def low_contrast(texts: list[dict[str, Any]]) -> list[str]:
    """The elements below WCAG AA: 4.5 for body text, 3 for large (24 px, or 18.66 bold)."""
    worst: dict[str, tuple[float, str]] = {}
    for text in texts:
        ratio = contrast(rgb(text["colour"]), rgb(text["background"]))
        large = text["size"] >= 24 or (text["size"] >= 18.66 and text["weight"] >= 700)
        if ratio < (3 if large else 4.5) and ratio < worst.get(text["element"], (99.0, ""))[0]:
            worst[text["element"]] = (ratio, text["text"])
    return [f"{name} {ratio:.2f} ({text!r})" for name, (ratio, text) in sorted(worst.items())]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_all_text_has_enough_contrast(
    chrome: Browser, demo: tuple[RunResult, Path], scheme: str
) -> None:
    with opened(chrome, digest_html(demo), 800, scheme=scheme) as page:
        texts = page.evaluate(TEXTS_JS)
    assert texts
    failing = low_contrast(texts)
    assert not failing, f"{scheme} mode, below WCAG AA: " + "; ".join(failing)


@pytest.mark.parametrize("width", WIDTHS)
def test_preheader_is_not_visible(
    chrome: Browser, demo: tuple[RunResult, Path], width: int
) -> None:
    with opened(chrome, digest_html(demo), width) as page:
        preheader = page.locator(".preheader")
        assert preheader.count() == 1
        assert not preheader.is_visible()
        hidden = preheader.evaluate(
            """(el) => {
              const range = document.createRange();
              range.selectNodeContents(el);
              const drawn = [...range.getClientRects()].filter((r) => r.width && r.height);
              return {text: el.textContent.trim(), drawn: drawn.length,
                      height: el.getBoundingClientRect().height};
            }"""
        )
    assert hidden["text"], "the preheader has text for the inbox preview"
    assert hidden["drawn"] == 0, f"the preheader's text is drawn: {hidden['drawn']} boxes"
    assert hidden["height"] == 0


# --- digest.preview with the real browser ---------------------------------------------


def test_screenshot_writes_pngs_of_the_asked_size(
    demo: tuple[RunResult, Path], tmp_path: Path
) -> None:
    chromium = chromium_or_skip()
    with serve(demo[1]) as server:
        for width, height in ((800, 900), (375, 700)):
            target = tmp_path / f"shot-{width}.png"
            screenshot(chromium, server.url("/"), target, width, height)
            assert png_size(target) == (width, height)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shot-375.png", "shot-800.png"]


def test_page_heights_measures_the_issue_at_each_width(demo: tuple[RunResult, Path]) -> None:
    chromium = chromium_or_skip()
    heights = page_heights(chromium, digest_html(demo), [375, 800])
    assert set(heights) == {375, 800}
    assert heights[375] > heights[800] > 1500, heights  # narrower: the text wraps more


def test_preview_server_serves_the_page_the_browser_draws(
    chrome: Browser, demo: tuple[RunResult, Path]
) -> None:
    with serve(demo[1]) as server:
        assert server.host_port.startswith("127.0.0.1:")
        context = chrome.new_context(viewport={"width": 375, "height": 800})
        try:
            page = context.new_page()
            response = page.goto(server.url("/"))
            assert response is not None and response.status == 200
            assert response.headers["cache-control"] == "no-store"
            issue = demo[0].digest
            assert issue is not None and page.title() == issue.title
        finally:
            context.close()
        connection = http.client.HTTPConnection(server.host_port, timeout=10)
        connection.request("GET", "/../pyproject.toml")
        assert connection.getresponse().status == 403
        connection.close()
