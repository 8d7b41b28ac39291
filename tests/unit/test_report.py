"""``twin report``: one self-contained HTML page.

Always: the page is parsed (html.parser) and checked for its parts and for anything that
would load from elsewhere (scripts, stylesheets, remote images). Where Chromium is
installed (``apt-get install chromium``) the page is also opened headless and its console
checked for errors; the console capture is calibrated on a page that logs one.
"""
from __future__ import annotations

import base64
import re
import shutil
import subprocess
from html.parser import HTMLParser

import pytest
from click.testing import CliRunner

from kernels.solver import SolverSettings
from twin.cli import main
from twin.facility import BUILTIN_DIR, load_facility
from twin.studies.failure import run_n_minus_1, write_failure_outputs
from twin.thermal.steady import solve_hall, write_steady_h5

SMALL = BUILTIN_DIR / "small-hall.toml"


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    d = tmp_path_factory.mktemp("report")
    fac = load_facility(SMALL)
    settings = SolverSettings(max_steps=250)
    sol = solve_hall(fac, None, cell_m=0.4, backend="numba-cpu", settings=settings)
    steady = d / "steady" / "results.h5"
    write_steady_h5(steady, [sol], SMALL.read_text())
    recs = run_n_minus_1(fac, ["CRAH-1"], cell_m=0.4, minutes=0.1, backend="numba-cpu",
                         settings=settings, sample_s=0.5, keep_fields=True)
    write_failure_outputs(d / "n1", recs, {"facility": str(SMALL)}, fac.to_toml())
    return {"steady": steady, "fail": d / "n1" / "fail.h5"}


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.ids, self.attrs, self.text = [], set(), [], []
        self.doctype = None

    def handle_decl(self, decl):
        self.doctype = decl

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        a = dict(attrs)
        self.attrs.append((tag, a))
        if "id" in a:
            self.ids.add(a["id"])

    def handle_data(self, data):
        self.text.append(data)


def _report(src, tmp_path, *extra):
    out = tmp_path / "report.html"
    r = CliRunner().invoke(main, ["report", str(src), "--out", str(out), *extra])
    assert r.exit_code == 0, r.output
    return out


def _check_self_contained(page: _Page):
    assert page.doctype and page.doctype.lower() == "doctype html"
    assert "script" not in page.tags and "link" not in page.tags and "iframe" not in page.tags
    for tag, a in page.attrs:
        for key in ("src", "href", "data", "action"):
            v = a.get(key)
            if v is not None:
                assert v.startswith("data:") or v.startswith("#"), (tag, key, v[:60])


def test_steady_report_has_its_parts(results, tmp_path):
    out = _report(results["steady"], tmp_path)
    html = out.read_text(encoding="utf-8")
    page = _Page()
    page.feed(html)
    _check_self_contained(page)
    assert {"summary", "worst-racks", "cooling-units", "picture"} <= page.ids
    text = " ".join(page.text)
    assert "RCI_HI" in text and "H1/A/01" in text
    imgs = [a["src"] for t, a in page.attrs if t == "img"]
    assert len(imgs) == 1 and imgs[0].startswith("data:image/png;base64,")
    png = base64.b64decode(imgs[0].split(",", 1)[1])
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    assert "timeseries" not in page.ids            # a steady state has no time series


def test_failure_report_has_time_series(results, tmp_path):
    out = _report(results["fail"], tmp_path, "--no-picture")
    html = out.read_text(encoding="utf-8")
    page = _Page()
    page.feed(html)
    _check_self_contained(page)
    assert {"summary", "timeseries", "n-1", "worst-racks"} <= page.ids
    svg = re.findall(r"<svg .*?</svg>", html, flags=re.S)
    assert svg and "<polyline" in svg[0]
    assert "recommended 27 C" in svg[0] and "H1/A/01" in svg[0]
    assert "img" not in page.tags


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        exe = shutil.which(name)
        if exe:
            return exe
    return None


def _console(exe, path):
    """Console lines Chromium logs while loading ``path`` headless, and the DOM."""
    p = subprocess.run([exe, "--headless=new", "--no-sandbox", "--disable-gpu",
                        "--enable-logging=stderr", "--v=0", "--dump-dom", path.as_uri()],
                       capture_output=True, text=True, timeout=120)
    return [ln for ln in p.stderr.splitlines() if ":CONSOLE" in ln], p.stdout


def test_report_opens_in_headless_chromium_without_console_errors(results, tmp_path):
    exe = _chromium()
    if exe is None:
        pytest.skip("Chromium is not installed (apt-get install chromium); the HTML is "
                    "checked with html.parser in the other tests")
    cal = tmp_path / "calibration.html"
    cal.write_text('<!DOCTYPE html><html><head><meta charset="utf-8"><title>c</title></head>'
                   '<body><script>console.error("calibration-marker")</script></body></html>')
    lines, _ = _console(exe, cal)
    assert any("calibration-marker" in ln for ln in lines), "console capture does not work"
    for src, extra, part in ((results["steady"], (), "data:image/png;base64,"),
                             (results["fail"], ("--no-picture",), "</svg>")):
        out = _report(src, tmp_path, *extra)
        lines, dom = _console(exe, out)
        assert lines == [], lines
        assert "Worst racks" in dom and part in dom       # the browser built the page


def test_chart_tells_more_series_than_colours_apart():
    """12 series, 10 colours: every series gets its own colour-and-dash style (issue 20)."""
    import numpy as np

    from twin.outputs.html_page import svg_line_chart
    from twin.outputs.report import clock_ticks
    x = np.arange(5.0)
    svg = svg_line_chart(x, [(f"s{n}", x * n) for n in range(12)], "t", "x", "y")
    styles = re.findall(r'<polyline fill="none" stroke="([^"]+)" stroke-width="1.6"'
                        r'(?: stroke-dasharray="([^"]+)")? ', svg)
    assert len(styles) == 12 and len(set(styles)) == 12, styles
    # clock ticks: whole hours within a day, dates at midnight and over longer spans
    assert clock_ticks(0.0, 6.0) == [(0.0, "Jan 01"), (1.0, "01:00"), (2.0, "02:00"),
                                     (3.0, "03:00"), (4.0, "04:00"), (5.0, "05:00"),
                                     (6.0, "06:00")]
    assert [lbl for _, lbl in clock_ticks(24.0 * 31, 24.0 * 40)][:2] == ["Feb 02", "Feb 04"]
