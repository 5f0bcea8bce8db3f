"""The built website in a real browser: headless Chromium opens pages of ``docs/_build/html`` from ``file://``.

On the home page, lesson 4 and the ``Conv2d`` API page: no console error or failed load, the maths
typeset by the vendored MathJax (no raw TeX left in the text), every image loaded, every internal
link (and its ``#anchor``) resolving to a file of the site, and no request leaving ``file://``.

Needs the built site (``python -m sphinx -W -b html docs docs/_build/html``), Chromium (Debian's
``chromium``) and websocket-client (the ``docs`` extra); it talks to Chromium over the DevTools
protocol. Marked ``site``: the main run leaves it out (``-m 'not site'`` in pyproject.toml); CI's
site step runs ``pytest -m site`` with MINIALEXNET_REQUIRE_BROWSER=1, so a missing piece fails there
instead of skipping.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

pytestmark = pytest.mark.site

SITE = Path(__file__).resolve().parents[1] / "docs" / "_build" / "html"
REQUIRED = os.environ.get("MINIALEXNET_REQUIRE_BROWSER") == "1"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-port=0",
]
# TeX that MathJax did not typeset: $...$, \(...\), \[...\], \begin{...}
RAW_TEX = re.compile(r"\$[^$\s][^$]*\$|\\\(|\\\[|\\begin\{")

# what each page is, and what it must show
PAGES = {
    "home": "index.html",
    "lesson 4": "lessons/04_convolution_im2col.html",
    "Conv2d": "reference/layers/conv.html",
}

# the text outside code, the maths, the images and the links, as the page shows them once MathJax is done
PAGE_FACTS = """(() => {
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const text = [];
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (!node.parentElement.closest("pre, code, script, style, mjx-container")) text.push(node.textContent);
  }
  const maths = [...document.querySelectorAll("span.math, div.math")];
  return {
    text: text.join(" "),
    maths: maths.length,
    untypeset: maths.filter((m) => !m.querySelector("mjx-container")).map((m) => m.textContent.slice(0, 80)),
    images: [...document.images].map((image) => ({src: image.currentSrc || image.src, loaded: image.complete && image.naturalWidth > 0})),
    links: [...document.querySelectorAll("a[href]")].map((a) => a.href),
    outputs: [...document.querySelectorAll(".cell_output")].map((output) => output.innerText).join("\\n"),
  };
})()"""

SEARCH_RESULTS = """new Promise((resolve) => {
  const started = Date.now();
  const poll = () => {
    const results = [...document.querySelectorAll("#search-results li a")].map((a) => a.textContent);
    if (results.length || Date.now() - started > 20000) resolve(results); else setTimeout(poll, 100);
  };
  poll();
})"""

MATHJAX_DONE = """(async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  await document.fonts.ready;
  return true;
})()"""


def chromium_path() -> str | None:
    candidates = [os.environ.get("MINIALEXNET_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"]
    return next((path for path in map(shutil.which, filter(None, candidates)) if path), None)


def unavailable(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"MINIALEXNET_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


class DevTools:
    """Chromium's DevTools protocol over one websocket: commands wait for their answer, events are kept."""

    def __init__(self, url: str) -> None:
        import websocket

        self.socket = websocket.create_connection(url, timeout=60, suppress_origin=True)
        self.events: list[dict] = []
        self.next_id = 0

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self.socket.send(json.dumps(message))
        while True:
            reply = json.loads(self.socket.recv())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def evaluate(self, expression: str, session: str) -> object:
        result = self.send("Runtime.evaluate", {"expression": expression, "awaitPromise": True, "returnByValue": True}, session)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression[:60]}...: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, method: str, session: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        if any(e.get("method") == method and e.get("sessionId") == session for e in self.events):
            return
        while time.monotonic() < deadline:
            self.socket.settimeout(max(deadline - time.monotonic(), 0.01))
            event = json.loads(self.socket.recv())
            self.events.append(event)
            if event.get("method") == method and event.get("sessionId") == session:
                return
        raise TimeoutError(method)

    def drain(self, seconds: float) -> None:
        """Keep the events that arrive in the next ``seconds`` (late requests, errors)."""
        import websocket

        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self.socket.settimeout(left)
            try:
                self.events.append(json.loads(self.socket.recv()))
            except websocket.WebSocketTimeoutException:
                return


@pytest.fixture(scope="module")
def browser() -> Iterator[DevTools]:
    if not (SITE / "index.html").is_file():
        unavailable(f"no built site in {SITE}: python -m sphinx -W -b html docs docs/_build/html")
    chromium = chromium_path()
    if chromium is None:
        unavailable("no Chromium found: apt-get install chromium (or set MINIALEXNET_CHROMIUM)")
    try:
        import websocket  # noqa: F401
    except ImportError:
        unavailable("websocket-client is missing: pip install -e '.[docs]'")
    with tempfile.TemporaryDirectory(prefix="minialexnet-chromium-") as profile:
        process = subprocess.Popen(
            [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            port_file = Path(profile) / "DevToolsActivePort"
            deadline = time.monotonic() + 60
            while not (port_file.is_file() and len(port_file.read_text().split()) == 2):
                assert process.poll() is None, f"{chromium} exited with {process.returncode}"
                assert time.monotonic() < deadline, "Chromium did not open its DevTools port within 60 s"
                time.sleep(0.1)
            port, path = port_file.read_text().split()
            devtools = DevTools(f"ws://127.0.0.1:{port}{path}")
            yield devtools
            devtools.socket.close()
        finally:
            process.terminate()
            process.wait(timeout=30)


def open_page(browser: DevTools, relative: str, facts: str = PAGE_FACTS) -> tuple[object, list[dict]]:
    """Load the page in a fresh tab; returns what ``facts`` finds there and the events of its session."""
    target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Page", "Runtime", "Log", "Network"):
        browser.send(f"{domain}.enable", session=session)
    page, _, query = relative.partition("?")
    browser.send("Page.navigate", {"url": (SITE / page).as_uri() + (f"?{query}" if query else "")}, session)
    browser.wait_for("Page.loadEventFired", session)
    browser.evaluate(MATHJAX_DONE, session)
    browser.drain(0.5)
    found = browser.evaluate(facts, session)
    browser.send("Target.closeTarget", {"targetId": target})
    return found, [event for event in browser.events if event.get("sessionId") == session]


def problems_in(events: list[dict]) -> list[str]:
    """Console errors, uncaught exceptions, failed loads and requests that leave file://."""
    urls = {e["params"]["requestId"]: e["params"]["request"]["url"] for e in events if e["method"] == "Network.requestWillBeSent"}
    found = [f"request to another host: {url}" for url in urls.values() if urlsplit(url).scheme not in ("file", "data", "blob")]
    for event in events:
        method, params = event["method"], event["params"]
        if method == "Network.loadingFailed":
            found.append(f"failed to load {urls.get(params['requestId'], '?')}: {params['errorText']}")
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            found.append(f"exception: {details.get('exception', {}).get('description', details['text'])}")
        elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
            found.append(f"console.{params['type']}: {' '.join(str(a.get('value', a.get('description'))) for a in params['args'])}")
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            found.append(f"log: {params['entry']['text']} {params['entry'].get('url', '')}")
    return found


def broken_links(links: list[str]) -> list[str]:
    """The links into the site whose file, or whose #anchor in it, does not exist."""
    broken, pages = [], {}
    for link in links:
        parts = urlsplit(link)
        if parts.scheme != "file":
            continue
        path = Path(unquote(parts.path))
        if path.is_dir():
            path = path / "index.html"
        if not path.is_file():
            broken.append(link)
        elif parts.fragment and path.suffix == ".html":
            html = pages.setdefault(path, path.read_text(encoding="utf-8"))
            if f'id="{unquote(parts.fragment)}"' not in html:
                broken.append(link)
    return broken


@pytest.fixture(scope="module")
def pages(browser: DevTools) -> dict[str, tuple[dict, list[dict]]]:
    return {name: open_page(browser, relative) for name, relative in PAGES.items()}


@pytest.mark.parametrize("name", PAGES)
def test_page_loads_everything_from_the_site_alone(pages, name):
    facts, events = pages[name]
    assert any(e["method"] == "Network.requestWillBeSent" for e in events), "no request recorded: the check saw nothing"
    assert problems_in(events) == []
    assert all(image["loaded"] for image in facts["images"]), [image["src"] for image in facts["images"] if not image["loaded"]]
    assert broken_links(facts["links"]) == []


@pytest.mark.parametrize("name", PAGES)
def test_maths_is_typeset(pages, name):
    facts, _ = pages[name]
    assert facts["untypeset"] == []
    assert RAW_TEX.findall(facts["text"]) == []


def test_conv2d_page_shows_its_formula_lesson_and_twins(pages):
    facts, _ = pages["Conv2d"]
    assert facts["maths"] >= 2 and facts["untypeset"] == []
    targets = {urlsplit(link).path.split("/html/", 1)[-1] + "#" + urlsplit(link).fragment for link in facts["links"]}
    for target in (
        "lessons/04_convolution_im2col.html#",
        "reference/engines.html#minialexnet.fast.conv.Conv2d",
        "reference/engines.html#minialexnet.cuda.layers.Conv2d",
    ):
        assert target in targets, target


def test_lesson_shows_its_figures_and_the_exercises_unwritten(pages):
    facts, _ = pages["lesson 4"]
    assert len(facts["images"]) >= 1 and all(image["loaded"] for image in facts["images"])
    assert "not written yet" in facts["outputs"]
    assert not re.search(r"^\w+: pass", facts["outputs"], re.MULTILINE), "a check cell passes: the site shows a solution"


def test_home_page_links_every_section(pages):
    facts, _ = pages["home"]
    paths = {urlsplit(link).path.split("/html/", 1)[-1] for link in facts["links"]}
    assert {"learn.html", "guides.html", "reference/index.html", "course.html"} <= paths, sorted(paths)


def test_search_works_offline(browser):
    results, events = open_page(browser, "search.html?q=im2col", SEARCH_RESULTS)
    assert problems_in(events) == []
    assert "Lesson 4 - Convolution by im2col" in results and any(r.endswith("patches.im2col") for r in results), results
