"""The built book in a real headless Chromium (Debian's chromium driven by Playwright), offline.

Pages are served from 127.0.0.1; what they fetch from CDNs (MathJax, Font Awesome for the
animation buttons, and require.js and the ipywidgets html-manager if a page uses them) is answered
from npm-installed copies of the same packages, so the test needs no internet. Checked on every chapter page in both languages, at a 1280 px window and on a 390 px phone: no
JavaScript errors, all math typeset without TeX errors, the page's `lang`, no element wider than the
column outside its own scroll box (and, at 1280 px, no display equation and no code cell wider than
the column), every image described by its alt text, every exercise solution collapsed, Prev/Next
inside the page's language, and the ES/EN switch landing on the twin page. At 1280 px also: each
slider moves its image, each animation has working controls, the Colab launch link points at the
page's notebook. The landing page: start buttons per language, no sideways scroll, cards stacked on
a phone.
"""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted(p.stem for p in (ROOT / "notebooks" / "es").glob("*.ipynb"))
CDN_DIR = Path(os.environ.get("COURSE_CDN_DIR", ROOT / "_build" / "cdn"))
# CDN prefix -> (npm package spec, folder inside node_modules)
CDN = {
    "https://cdn.jsdelivr.net/npm/mathjax@3/": ("mathjax@3", "mathjax/"),
    "https://cdnjs.cloudflare.com/ajax/libs/require.js/2.3.4/": ("requirejs@2.3.4", "requirejs/"),
    "https://cdn.jsdelivr.net/npm/@jupyter-widgets/html-manager@1.0.6/": (
        "@jupyter-widgets/html-manager@1.0.6", "@jupyter-widgets/html-manager/"),
    # matplotlib's to_jshtml animations style their buttons with Font Awesome 4.4.0
    "https://maxcdn.bootstrapcdn.com/font-awesome/4.4.0/": ("font-awesome@4.4.0", "font-awesome/"),
}
BADGE = b'<svg xmlns="http://www.w3.org/2000/svg" width="117" height="20"><rect width="117" height="20" fill="#555"/></svg>'
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-quic", "--no-first-run"]
VERIFIED = {"pages": 0, "sliders": 0, "slider_inputs": 0, "animations": 0, "math": 0}


def _need(what: str, hint: str):
    if os.environ.get("CI"):
        pytest.fail(f"{what} is required in CI ({hint})")
    pytest.skip(f"{what} is not available here ({hint})")


@pytest.fixture(scope="module")
def chromium_path() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        _need("Debian's chromium", "apt-get install chromium; .ci/run installs it")
    return path


@pytest.fixture(scope="module")
def cdn_copies(book) -> Path:
    pages = "".join(p.read_text(encoding="utf-8") for p in book.rglob("*.html"))
    specs = [spec for prefix, (spec, _) in CDN.items() if prefix in pages]
    missing = [spec for spec, folder in CDN.values()
               if spec in specs and not (CDN_DIR / "node_modules" / folder / "package.json").exists()]
    if missing:
        if not shutil.which("npm"):
            _need("npm", "to install local copies of " + ", ".join(missing))
        CDN_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(CDN_DIR), *missing],
                       check=True, timeout=600)
    return CDN_DIR / "node_modules"


@pytest.fixture(scope="module")
def server(book):
    handler = functools.partial(type("Quiet", (SimpleHTTPRequestHandler,), {"log_message": lambda *a: None}),
                                directory=str(book))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser(chromium_path):
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _route(cdn_copies: Path, blocked: list):
    def handle(route):
        url = route.request.url
        if url.startswith("http://127.0.0.1"):
            return route.continue_()
        for prefix, (_, folder) in CDN.items():
            if url.startswith(prefix):
                local = cdn_copies / folder / url[len(prefix):].split("?")[0]
                if local.is_file():
                    return route.fulfill(path=str(local))
        if "colab-badge.svg" in url:
            return route.fulfill(body=BADGE, content_type="image/svg+xml")
        blocked.append(url)
        return route.abort()
    return handle


SLIDER_JS = """() => {
  const out = [];
  let k = 0;
  for (const root of document.querySelectorAll('div.cu-slider-root')) {
    k += 1;
    for (const group of root.querySelectorAll('div.cu-slider-group')) {
      const img = group.querySelector('img.cu-slider-img');
      for (const input of group.querySelectorAll('input.cu-slider[type=range]')) {
        const before = img ? img.src : '';
        input.value = input.value === input.max ? input.min : input.max;
        input.dispatchEvent(new Event('input', {bubbles: true}));
        input.dispatchEvent(new Event('change', {bubbles: true}));
        out.push({root: k, changed: !!img && img.src.startsWith('data:image/png') && img.src !== before});
      }
    }
  }
  return {roots: k, inputs: out};
}"""

ANIMATION_JS = """() => Array.from(document.querySelectorAll('div.animation')).map(a => {
  const img = a.querySelector('img');
  const before = img ? img.src : '';
  const next = a.querySelector('button[title="Next frame"], button[title="Fotograma siguiente"]');
  if (next) next.click();
  return {buttons: a.querySelectorAll('button').length, moved: img ? img.src !== before : false};
})"""


LAYOUT_JS = """() => {
  const article = document.querySelector('article.bd-article') || document.querySelector('main');
  const right = article.getBoundingClientRect().right;
  const scrolls = el => { for (let a = el.parentElement; a && a !== article; a = a.parentElement) {
      const o = getComputedStyle(a).overflowX; if (o === 'auto' || o === 'scroll' || o === 'hidden') return true; }
    return false; };
  const unboxed = [];
  for (const el of article.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > right + 1 && !scrolls(el)) unboxed.push(el.tagName + '.' + el.className);
  }
  const eqs = Array.from(document.querySelectorAll('mjx-container[display="true"]'));
  const eqWide = eqs.filter(c => c.firstElementChild && c.firstElementChild.getBoundingClientRect().width > c.clientWidth + 1);
  const code = Array.from(article.querySelectorAll('div.cell_input pre'));
  const imgs = Array.from(article.querySelectorAll('img'));
  const path = /^(data:|\\.\\.?\\/|\\/|_images)|^[\\w.\\/-]+\\.(png|svg|jpe?g|gif)$/i;
  const badAlt = imgs.filter(i => !i.alt.trim() || path.test(i.alt.trim())).map(i => i.alt || i.src.slice(0, 60));
  const solutions = Array.from(article.querySelectorAll('details.cu-solution'));
  const shownSolutionText = solutions.filter(d => d.open || Array.from(d.children).some(c => c.tagName !== 'SUMMARY' && c.checkVisibility())).length;
  const prevNext = Array.from(document.querySelectorAll('a.left-prev, a.right-next')).map(a => a.href);
  const sw = document.querySelector('a.cu-lang-other');
  return {lang: document.documentElement.lang, pageScroll: document.documentElement.scrollWidth > window.innerWidth,
          unboxed: unboxed.slice(0, 8), unboxedCount: unboxed.length, equations: eqs.length, equationsWide: eqWide.length,
          codeCells: code.length, codeScrolling: code.filter(p => p.scrollWidth > p.clientWidth + 1).length,
          images: imgs.length, badAlt, solutions: solutions.length, shownSolutionText, prevNext,
          switchHref: sw ? sw.href : null, switchVisible: !!sw && sw.getClientRects().length > 0};
}"""
LAYOUT: dict = {}


def _open(browser, server, cdn_copies, path: str, width: int, errors: list):
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    page.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None)
    page.route("**/*", _route(cdn_copies, []))
    page.goto(f"{server}/{path}", wait_until="load")
    return page


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("stem", CHAPTERS)
@pytest.mark.parametrize("lang", ["es", "en"])
def test_chapter_page_in_chromium(book, browser, server, cdn_copies, lang, stem, width):
    errors = []
    page = _open(browser, server, cdn_copies, f"notebooks/{lang}/{stem}.html", width, errors)
    page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=30000)
    page.evaluate("() => MathJax.startup.promise")
    math = page.evaluate("""() => ({total: document.querySelectorAll('.math').length,
        typeset: document.querySelectorAll('.math mjx-container').length,
        bare: Array.from(document.querySelectorAll('.math')).filter(m => !m.querySelector('mjx-container')).length,
        texErrors: document.querySelectorAll('mjx-merror').length})""")
    assert math["total"] > 0 and math["bare"] == 0, f"math not typeset: {math}"
    assert math["texErrors"] == 0, f"TeX errors on the page: {math}"

    layout = page.evaluate(LAYOUT_JS)
    LAYOUT[(width, lang, stem)] = layout
    assert layout["lang"] == lang, f'<html lang="{layout["lang"]}"> on a page of the {lang} part'
    assert not layout["pageScroll"], f"the page scrolls sideways at {width} px: {layout['unboxed']}"
    assert layout["unboxedCount"] == 0, f"elements wider than the column, outside any scroll box: {layout['unboxed']}"
    if width == 1280:
        assert layout["equationsWide"] == 0, f"{layout['equationsWide']} display equations wider than the column"
        assert layout["codeScrolling"] == 0, f"{layout['codeScrolling']} code cells scroll sideways"
    assert layout["badAlt"] == [], f"images without a description (alt is empty or a file path): {layout['badAlt']}"
    notebook = (ROOT / "notebooks" / lang / f"{stem}.ipynb").read_text(encoding="utf-8")
    assert layout["solutions"] == notebook.count('"#### Solution') + notebook.count('"#### Solución'), \
        "each exercise solution is one collapsed dropdown"
    assert layout["shownSolutionText"] == 0, "a solution is visible before a click"
    other = "en" if lang == "es" else "es"
    crossing = [h for h in layout["prevNext"] if f"/notebooks/{other}/" in h or f"/book/{other}/" in h]
    assert crossing == [], f"Prev/Next leads into the other language: {crossing}"
    assert layout["switchVisible"] and layout["switchHref"].endswith(f"/notebooks/{other}/{stem}.html"), layout["switchHref"]
    assert page.request.get(layout["switchHref"]).status == 200

    if width == 1280:
        sliders = page.evaluate(SLIDER_JS)
        assert all(s["changed"] for s in sliders["inputs"]), f"a slider did not change its image: {sliders}"
        assert len({s["root"] for s in sliders["inputs"]}) == sliders["roots"], f"a slider has no inputs: {sliders}"
        in_file = (book / "notebooks" / lang / f"{stem}.html").read_text(encoding="utf-8").count('class="cu-slider-root"')
        assert sliders["roots"] == in_file, f"{in_file} sliders in the page, {sliders['roots']} live in the browser"
        animations = page.evaluate(ANIMATION_JS)
        assert all(a["buttons"] >= 5 and a["moved"] for a in animations), f"animation controls: {animations}"
        twin = page.locator(f'a[href^="../{other}/{stem}.html"]')
        assert twin.count() > 0, "language link in the chapter's header cell missing"
        colab = page.locator('a[href^="https://colab.research.google.com/github/"]').first.get_attribute("href")
        assert colab.endswith(f"/notebooks/{lang}/{stem}.ipynb"), colab
        assert (ROOT / "notebooks" / lang / f"{stem}.ipynb").exists()
        VERIFIED["sliders"] += sliders["roots"]
        VERIFIED["slider_inputs"] += len(sliders["inputs"])
        VERIFIED["animations"] += len(animations)
        VERIFIED["math"] += math["typeset"]
    assert errors == [], "\n".join(errors)
    page.close()
    VERIFIED["pages"] += 1


@pytest.mark.parametrize("width", [1280, 390])
def test_landing_page_in_chromium(book, browser, server, cdn_copies, width):
    errors = []
    page = _open(browser, server, cdn_copies, "book/intro.html", width, errors)
    assert not page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth"), \
        f"the landing page scrolls sideways at {width} px"
    for lang in ("es", "en"):
        start = page.locator(f'article a.sd-btn[href$="notebooks/{lang}/00_generative_models.html"]').first
        assert start.is_visible(), f"no visible start button for {lang}"
        assert page.request.get(start.evaluate("a => a.href")).status == 200
    if width == 390:
        cards = page.evaluate("() => Array.from(document.querySelectorAll('.cu-start-card')).map(c => c.getBoundingClientRect().top)")
        assert len(cards) == 2 and abs(cards[0] - cards[1]) > 50, f"the start cards do not stack on a phone: {cards}"
    assert errors == [], "\n".join(errors)
    page.close()


def test_browser_summary(browser, server):
    print(f"\nbrowser check: {VERIFIED}")
    for width in (1280, 390):
        rows = [v for k, v in LAYOUT.items() if k[0] == width]
        print(f"{width} px: {len(rows)} pages; code cells scrolling in their box "
              f"{sum(r['codeScrolling'] for r in rows)}/{sum(r['codeCells'] for r in rows)}; display equations wider "
              f"than the column (in their scroll box) {sum(r['equationsWide'] for r in rows)}/"
              f"{sum(r['equations'] for r in rows)}; images {sum(r['images'] for r in rows)}, all described; "
              f"solutions collapsed {sum(r['solutions'] for r in rows)}")
    assert VERIFIED["pages"] == 2 * 2 * len(CHAPTERS)
    sources = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "notebooks").glob("*/*.ipynb"))
    if "frame_slider(" in sources or "traversal_slider(" in sources:
        assert VERIFIED["sliders"] > 0, "notebooks build sliders but none was verified in the browser"
