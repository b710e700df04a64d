"""The built book in a real headless Chromium (Debian's chromium driven by Playwright), offline.

Pages are served from 127.0.0.1; what they fetch from CDNs (MathJax, Font Awesome for the
animation buttons, and require.js and the ipywidgets html-manager if a page uses them) is answered
from npm-installed copies of the same packages, so the test needs no internet. Checked on every chapter page in both languages: no
JavaScript errors, all math typeset without TeX errors, each slider moves its image, each animation
has working controls, the language switch and the Colab launch link point at existing targets.
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
  const next = a.querySelector('button[title="Next frame"]') || a.querySelectorAll('button')[4];
  if (next) next.click();
  return {buttons: a.querySelectorAll('button').length, moved: img ? img.src !== before : false};
})"""


@pytest.mark.parametrize("stem", CHAPTERS)
@pytest.mark.parametrize("lang", ["es", "en"])
def test_chapter_page_in_chromium(book, browser, server, cdn_copies, lang, stem):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors, blocked = [], []
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    page.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None)
    page.route("**/*", _route(cdn_copies, blocked))
    page.goto(f"{server}/notebooks/{lang}/{stem}.html", wait_until="load")
    page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=30000)
    page.evaluate("() => MathJax.startup.promise")
    math = page.evaluate("""() => ({total: document.querySelectorAll('.math').length,
        typeset: document.querySelectorAll('.math mjx-container').length,
        bare: Array.from(document.querySelectorAll('.math')).filter(m => !m.querySelector('mjx-container')).length,
        texErrors: document.querySelectorAll('mjx-merror').length})""")
    assert math["total"] > 0 and math["bare"] == 0, f"math not typeset: {math}"
    assert math["texErrors"] == 0, f"TeX errors on the page: {math}"
    sliders = page.evaluate(SLIDER_JS)
    assert all(s["changed"] for s in sliders["inputs"]), f"a slider did not change its image: {sliders}"
    assert len({s["root"] for s in sliders["inputs"]}) == sliders["roots"], f"a slider has no inputs: {sliders}"
    in_file = (book / "notebooks" / lang / f"{stem}.html").read_text(encoding="utf-8").count('class="cu-slider-root"')
    assert sliders["roots"] == in_file, f"{in_file} sliders in the page, {sliders['roots']} live in the browser"
    animations = page.evaluate(ANIMATION_JS)
    assert all(a["buttons"] >= 5 and a["moved"] for a in animations), f"animation controls: {animations}"
    other = "en" if lang == "es" else "es"
    twin = page.locator(f'a[href^="../{other}/{stem}.html"]')
    assert twin.count() > 0, "language switch link missing"
    assert page.request.get(f"{server}/notebooks/{other}/{stem}.html").status == 200
    colab = page.locator('a[href^="https://colab.research.google.com/github/"]').first.get_attribute("href")
    assert colab.endswith(f"/notebooks/{lang}/{stem}.ipynb"), colab
    assert (ROOT / "notebooks" / lang / f"{stem}.ipynb").exists()
    assert errors == [], "\n".join(errors)
    page.close()
    VERIFIED["pages"] += 1
    VERIFIED["math"] += math["typeset"]
    VERIFIED["sliders"] += sliders["roots"]
    VERIFIED["slider_inputs"] += len(sliders["inputs"])
    VERIFIED["animations"] += len(animations)


def test_browser_summary(browser, server):
    print(f"\nbrowser check: {VERIFIED}")
    assert VERIFIED["pages"] == 2 * len(CHAPTERS)
    sources = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "notebooks").glob("*/*.ipynb"))
    if "frame_slider(" in sources or "traversal_slider(" in sources:
        assert VERIFIED["sliders"] > 0, "notebooks build sliders but none was verified in the browser"
