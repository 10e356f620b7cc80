"""report.html of ``gaussmix fit``: self-contained, and rendered by a real headless
browser (Chromium, skipped with the reason when it is not installed)."""

import base64
import html
import io
import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from gaussmix import load_faithful
from gaussmix._cli import main
from gaussmix._cli._report import SECTIONS

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


@pytest.fixture(scope="module")
def faithful_csv(tmp_path_factory):
    X, names = load_faithful()
    path = tmp_path_factory.mktemp("data") / "faithful.csv"
    np.savetxt(path, X, delimiter=",", header=",".join(names), comments="", fmt="%.17g")
    return str(path)


def fit_report(out, csv, *extra):
    argv = ["fit", csv, "-k", "1-3", "-c", "full,tied", "--n-init", "2", "-q",
            "--out", str(out), *extra]
    assert main(argv) == 0
    return (out / "report.html").read_text(encoding="utf-8"), argv


@pytest.fixture(scope="module")
def report(tmp_path_factory, faithful_csv):
    pytest.importorskip("matplotlib")
    out = tmp_path_factory.mktemp("fit")
    page, argv = fit_report(out, faithful_csv)
    return out / "report.html", page, argv


def images(page):
    return re.findall(r'<img src="([^"]*)"', page)


def test_report_is_self_contained(report):
    path, page, argv = report
    assert page.startswith("<!DOCTYPE html>")
    for section in SECTIONS:
        assert f"<h2>{html.escape(section)}</h2>" in page
    assert "<script" not in page.lower()
    assert not re.search(r"(?:src|href)\s*=\s*[\"']?(?:https?:|//|file:)", page, re.I)
    assert "url(" not in page      # no external resource from CSS either
    assert "could not be drawn" not in page and "no figures" not in page
    sources = images(page)
    # criterion, classification, uncertainty, density, restarts
    assert len(sources) == 5
    import matplotlib.image

    for src in sources:
        assert src.startswith("data:image/png;base64,")
        png = base64.b64decode(src.split(",", 1)[1], validate=True)
        pixels = matplotlib.image.imread(io.BytesIO(png), format="png")
        assert pixels.shape[0] > 100 and pixels.shape[1] > 100
    # the reproduction section has the exact command line
    assert html.escape(" ".join(["gaussmix", *argv])) in page
    assert "gaussmix.select(" in page and "numpy:" in page     # show_versions output


def test_report_of_3d_data_draws_a_pairs_grid(tmp_path):
    pytest.importorskip("matplotlib")
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(c, 1.0, (50, 3)) for c in (0.0, 6.0)])
    path = tmp_path / "X.npy"
    np.save(path, X)
    page, _ = fit_report(tmp_path / "out", str(path), "--standardize")
    assert "could not be drawn" not in page and len(images(page)) == 5
    assert "(x - mean) / sd" in page


def test_report_tables_are_the_selection(report, faithful_csv):
    from gaussmix import select

    _, page, _ = report
    X, _ = load_faithful()
    result = select(X, [1, 2, 3], ["full", "tied"], n_init=2, random_state=0)
    for value in result.table.to_numpy().ravel():
        assert f"{value:.7g}" in page
    best = result.best_criterion_
    assert f'<td class="best">{best:.7g}</td>' in page
    for w in result.best_estimator_.weights_:
        assert f"{w:.4f}" in page


def test_report_without_matplotlib_says_why(tmp_path, faithful_csv, monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    page, _ = fit_report(tmp_path, faithful_csv)
    assert "no figures: matplotlib is not installed" in page
    assert 'pip install "gaussmix[plot]"' in html.unescape(page)
    assert images(page) == []
    for section in SECTIONS:
        assert f"<h2>{html.escape(section)}</h2>" in page


def test_report_of_a_variational_fit_has_its_posterior(tmp_path, faithful_csv):
    pytest.importorskip("matplotlib")
    argv = ["fit", faithful_csv, "--method", "variational", "-k", "2", "-c", "full",
            "--n-init", "2", "-q", "--out", str(tmp_path)]
    assert main(argv) == 0
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "-2 ELBO" in page and "variational approximation" in page
    assert "could not be drawn" not in page
    has_arviz = "Variational posterior of the weights and means (ArviZ) of the 2" in page
    try:
        import arviz_plots  # noqa: F401
    except ImportError:
        assert "need arviz_plots" in page and not has_arviz
    else:
        assert has_arviz and len(images(page)) == 6


# ====================================================================== the browser
def find_browser():
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


PROBE = """<script>
window.addEventListener("load", function () {
  var result = {images: [], headings: [], text: document.body.innerText.length,
                width: document.documentElement.scrollWidth,
                height: document.documentElement.scrollHeight};
  for (var i = 0; i < document.images.length; i++) {
    var img = document.images[i];
    result.images.push({complete: img.complete, width: img.naturalWidth,
                        height: img.naturalHeight});
  }
  document.querySelectorAll("h1, h2").forEach(function (h) {
    result.headings.push(h.tagName + ":" + h.textContent);
  });
  var out = document.createElement("pre");
  out.id = "probe";
  out.textContent = JSON.stringify(result);
  document.body.appendChild(out);
});
</script>"""


def run_browser(browser, tmp_path, *args):
    """Headless Chromium with no network: every host unresolvable, a proxy to nowhere."""
    profile = tmp_path / "profile"
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu",
               "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions",
               "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-default-browser-check",
               f"--user-data-dir={profile}", "--host-resolver-rules=MAP * ~NOTFOUND",
               "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>", *args]
    env = dict(os.environ, HOME=str(tmp_path))
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)


@pytest.fixture(scope="module")
def browser():
    path = find_browser()
    if path is None:
        pytest.skip("no Chromium found (looked for " + ", ".join(BROWSERS) + "); on Debian: "
                    "apt-get install chromium")
    return path


def test_report_renders_in_headless_chromium(report, browser, tmp_path):
    path, page, _ = report
    url = path.resolve().as_uri()
    # 1. A screenshot of the report as written: it must show something.
    shot = tmp_path / "shot.png"
    result = run_browser(browser, tmp_path, "--window-size=1100,2400",
                         "--hide-scrollbars", f"--screenshot={shot}", url)
    assert shot.exists(), result.stderr[-2000:]
    import matplotlib.image

    pixels = matplotlib.image.imread(str(shot))
    assert pixels.shape[:2] == (2400, 1100)
    rgb = (pixels[..., :3] * 255).astype(np.uint8).reshape(-1, 3)
    colours = np.unique(rgb, axis=0)
    assert len(colours) > 100, "the screenshot is (nearly) blank"
    not_white = np.mean(np.any(rgb < 240, axis=1))
    assert 0.02 < not_white < 0.9, not_white

    # 2. The DOM after loading a copy with a probe script: every image decoded, the
    #    headings there, the text laid out.
    probed = tmp_path / "probed.html"
    probed.write_text(page.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    result = run_browser(browser, tmp_path, "--virtual-time-budget=10000", "--dump-dom",
                         probed.resolve().as_uri())
    match = re.search(r'<pre id="probe">(.*?)</pre>', result.stdout, re.S)
    assert match, (result.stdout[-1000:], result.stderr[-2000:])
    found = json.loads(html.unescape(match.group(1)))
    assert len(found["images"]) == len(images(page)) == 5
    for img in found["images"]:
        assert img["complete"] and img["width"] > 100 and img["height"] > 100, img
    headings = [h.split(":", 1)[1] for h in found["headings"] if h.startswith("H2:")]
    assert headings == list(SECTIONS)
    assert any(h.startswith("H1:gaussmix: full, 2 components") for h in found["headings"])
    assert found["text"] > 1000 and found["height"] > 2000
    assert found["width"] <= 1100 + 50   # nothing wider than the window
