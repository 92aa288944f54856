"""Open the built book in headless Chromium, offline, and check that it really renders.

For every page of the TOC a small harness page (same origin) loads the page in an iframe, waits
for MathJax to finish, and reports what the browser sees: the MathJax version, typeset formulas,
TeX errors, and images that failed to load. Chromium runs with every host name except the local
server unresolvable, so a CDN reference would show up as missing math.

Needs the built book (``make book``) and Debian's ``chromium``; skipped with a message otherwise,
unless ``PNLIB_REQUIRE_BROWSER=1`` (set by ``.ci/run``) turns the skip into a failure.
"""

import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest

from pnlib import runner
from pnlib.paths import project_root

pytestmark = pytest.mark.browser

HTML = project_root() / "_build" / "html"
HARNESS = """<!doctype html><html><body>
<iframe id="f" src="/{page}" style="width:1280px;height:1000px"></iframe>
<script>
// pixels of the first screen (the iframe's height) that visible code inputs and prose or results
// take; an input folded away by hide-input has no height
function firstScreen(w, main) {{
  const height = w.innerHeight;
  const shown = e => {{
    const r = e.getBoundingClientRect();
    return r.height > 0 ? Math.max(0, Math.min(r.bottom, height) - Math.max(r.top, 0)) : 0;
  }};
  const sum = list => list.reduce((a, e) => a + shown(e), 0);
  const inputs = Array.from(main.querySelectorAll('.cell_input'));
  const prose = Array.from(main.querySelectorAll('p, .cell_output, table'))
    .filter(e => !e.closest('.cell_input') && !e.parentElement.closest('p, .cell_output, table'));
  return {{height: height, code: sum(inputs), prose: sum(prose)}};
}}
// the page's text outside code (a code cell may build a table from pipes; that is not a table)
function proseText(main) {{
  const copy = main.cloneNode(true);
  copy.querySelectorAll('.cell_input, pre, code, script').forEach(e => e.remove());
  return copy.textContent;
}}
const f = document.getElementById('f');
f.onload = async () => {{
  const w = f.contentWindow, d = f.contentDocument;
  const main = d.querySelector('main article') || d.querySelector('main') || d.body;
  let result;
  try {{
    if (w.MathJax && w.MathJax.startup) {{ await w.MathJax.startup.promise; }}
    const imgs = Array.from(d.querySelectorAll('main img, article img'));
    result = {{
      mathjax: (w.MathJax && w.MathJax.version) || null,
      typeset: d.querySelectorAll('mjx-container').length,
      tex_errors: d.querySelectorAll('mjx-merror').length,
      math_nodes: d.querySelectorAll('.math').length,
      images: imgs.length,
      broken_images: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src),
      title: d.title,
      tables: main.querySelectorAll('table').length,
      raw_pipes: (proseText(main).match(/\\|\\s*:?-{{3,}}:?\\s*\\|.{{0,40}}/g) || []).slice(0, 3),
      first_screen: firstScreen(w, main)
    }};
  }} catch (e) {{ result = {{error: String(e)}}; }}
  const out = document.createElement('pre');
  out.id = 'result';
  out.textContent = JSON.stringify(result);
  document.body.appendChild(out);
}};
</script></body></html>"""


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def require(condition: bool, message: str) -> None:
    if condition:
        return
    if os.environ.get("PNLIB_REQUIRE_BROWSER") == "1":
        pytest.fail(message)
    pytest.skip(message)  # outside CI only; .ci/run sets PNLIB_REQUIRE_BROWSER=1


class Handler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the http.server API
        match = re.match(r"/__check__/(.+)$", self.path)
        if not match:
            return super().do_GET()
        body = HARNESS.format(page=match.group(1)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass  # keep the request log out of the test output


@pytest.fixture(scope="module")
def server():
    require(chromium() is not None, "headless Chromium not found: `apt-get install chromium`")
    require((HTML / "index.html").is_file(), "the book is not built: run `make book` first")
    handler = functools.partial(Handler, directory=str(HTML))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def render(server: str, page: str) -> dict:
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.run(
            [
                chromium(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
                "--virtual-time-budget=30000",
                "--dump-dom",
                f"{server}/__check__/{page}",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    match = re.search(r'<pre id="result">(.*?)</pre>', proc.stdout, re.S)
    assert match, f"the harness reported nothing for {page}: {proc.stderr[-2000:]}"
    return json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&"))


def toc_pages() -> list[str]:
    import yaml

    toc = yaml.safe_load((project_root() / "_toc.yml").read_text())
    found = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                found.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    return [f"{page}.html" for page in found]


def test_every_toc_page_is_built():
    require((HTML / "index.html").is_file(), "the book is not built: run `make book` first")
    missing = [page for page in toc_pages() if not (HTML / page).is_file()]
    assert not missing


def test_no_page_loads_anything_from_the_network():
    require((HTML / "index.html").is_file(), "the book is not built: run `make book` first")
    external = re.compile(r'<(?:script|link|img)[^>]+(?:src|href)="(https?:)?//', re.I)
    offenders = [p for p in toc_pages() if external.search((HTML / p).read_text())]
    assert not offenders, f"pages referencing remote scripts, styles or images: {offenders}"
    assert "_static/mathjax/tex-chtml-full.js" in (HTML / "book" / "notation.html").read_text()


def test_formulas_are_typeset_offline(server):
    for page in toc_pages():
        result = render(server, page)
        assert "error" not in result, (page, result)
        if result["math_nodes"]:
            assert result["mathjax"], f"MathJax did not load on {page}"
            assert result["typeset"] >= result["math_nodes"], (page, result)
            assert result["tex_errors"] == 0, (page, result)


def test_chapter_figures_load(server):
    chapters = [f"notebooks/{p.stem}.html" for p in runner.toc_notebooks()]
    for page in chapters:
        result = render(server, page)
        assert result["images"] > 0, f"{page} shows no figure"
        assert not result["broken_images"], (page, result["broken_images"])


def test_built_figures_are_real_pngs():
    require((HTML / "index.html").is_file(), "the book is not built: run `make book` first")
    pngs = list((HTML / "_images").glob("*.png"))
    assert pngs
    for png in pngs:
        data = Path(png).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000, png


def expected_tables(page: str) -> int:
    """Pipe tables the page's source and its executed outputs hold (each must render as a table)."""
    rule = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*\|", re.M)
    stem = Path(page).with_suffix("")
    if stem.parent.name == "notebooks":
        executed = project_root() / "_build" / "nbval" / f"{stem.name}.ipynb"
        source = (project_root() / f"{stem}.py").read_text()
        count = len(rule.findall(source.replace("\n# ", "\n")))
        if executed.is_file():
            nb = json.loads(executed.read_text())
            for cell in nb["cells"]:
                for out in cell.get("outputs", []):
                    text = out.get("data", {}).get("text/markdown", "")
                    count += len(rule.findall("".join(text) if isinstance(text, list) else text))
        return count
    return len(rule.findall((project_root() / f"{stem}.md").read_text()))


def test_tables_render_and_the_first_screen_is_prose(server):
    for page in toc_pages():
        result = render(server, page)
        assert "error" not in result, (page, result)
        assert not result["raw_pipes"], f"{page} shows a table as raw text: {result['raw_pipes']}"
        assert result["tables"] >= expected_tables(page), (page, result["tables"])
        screen = result["first_screen"]
        assert screen["prose"] > 0, f"{page}: no prose or result on the first screen"
        assert screen["code"] < screen["height"] / 2, (
            f"{page}: code fills the first screen {screen}"
        )
