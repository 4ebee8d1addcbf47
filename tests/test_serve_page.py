"""The search page in a real headless Chromium (Playwright driving the system's browser) against a
real ``vnsearch serve``: typing, highlights, facets, the document view, "did you mean", and
document text that holds HTML and script shown as text."""

from __future__ import annotations

import os
import re
import shutil
import time

import pytest

pytest.importorskip("starlette", reason="the serve extra: pip install -e '.[test]'")
sync_api = pytest.importorskip("playwright.sync_api",
                               reason="Playwright: pip install -e '.[test]'")

from serve_server import Server, build_index  # noqa: E402

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def chromium_path() -> str | None:
    """$VNSEARCH_CHROMIUM, else a Chromium on PATH (Debian's package: apt-get install chromium)."""
    given = os.environ.get("VNSEARCH_CHROMIUM")
    if given:
        return given
    return next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("page")
    s = Server(build_index(base / "ix"), "--quiet", log_dir=base)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def browser():
    exe = chromium_path()
    if exe is None:
        pytest.skip("no Chromium found: apt-get install chromium (or set VNSEARCH_CHROMIUM)")
    with sync_api.sync_playwright() as p:
        try:
            b = p.chromium.launch(executable_path=exe, args=["--no-sandbox"])
        except sync_api.Error as e:
            pytest.skip(f"Chromium at {exe} does not start: {str(e).splitlines()[0]}")
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(locale="vi-VN", viewport={"width": 1200, "height": 900})
    pg = context.new_page()
    errors = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("dialog", lambda d: (errors.append("dialog: " + d.message), d.dismiss()))
    pg.goto(server.base + "/")
    yield pg
    context.close()
    assert not errors, errors


def wait_true(pg, expression: str, timeout: float = 15.0) -> None:
    """Poll a JavaScript expression until it is true (Playwright's wait_for_function polls by
    evaluating strings in the page, which the page's Content-Security-Policy forbids)."""
    deadline = time.monotonic() + timeout
    while not pg.evaluate(expression):
        assert time.monotonic() < deadline, f"still false after {timeout} s: {expression}"
        time.sleep(0.05)


def hits(pg):
    return pg.locator("#results .hit")


def test_typing_a_query_shows_highlighted_results_and_puts_it_in_the_url(page):
    page.fill("#q", "giá vàng")  # no Enter: the page searches as one types
    page.wait_for_selector("#results .hit mark")
    marks = {m.lower() for m in page.locator("#results .hit mark").all_text_contents()}
    assert {"giá vàng"} & marks or {"giá", "vàng"} <= marks | {"giá vàng"}
    assert "vàng" in " ".join(marks)
    assert hits(page).first.locator(".meta").inner_text().startswith("15/07/2023")
    assert "kết quả" in page.inner_text("#status")
    wait_true(page, "location.search.includes('q=')")
    assert "q=gi%C3%A1+v%C3%A0ng" in page.url or "q=gi%C3%A1%20v%C3%A0ng" in page.url


def test_the_query_lives_in_the_url(page, server):
    page.goto(server.base + "/?q=ph%C3%A1o+hoa&sort=-date")
    page.wait_for_selector("#results .hit")
    assert page.input_value("#q") == "pháo hoa"
    assert page.input_value("#sort") == "-date"
    dates = hits(page).locator(".meta").all_inner_texts()
    assert len(dates) >= 2


def test_a_facet_filters_the_results(page):
    page.fill("#q", "vàng")
    page.wait_for_selector("#results .hit")
    before = hits(page).count()
    page.click('.facet-value[data-facet="author"][data-value="Báo Đăng Lại"]')
    wait_true(page, "document.querySelectorAll('#results .hit').length === 1")
    assert before > 1
    assert "Báo Đăng Lại" in hits(page).first.locator(".meta").inner_text()
    assert "author=" in page.url and "Tác giả: Báo Đăng Lại" in page.inner_text("#active")
    page.click("#active .chip")  # removing the filter brings the others back
    wait_true(page, f"document.querySelectorAll('#results .hit').length === {before}")


def test_a_metadata_facet_filters_with_where(page):
    page.fill("#q", "vàng")
    page.click('.facet-value[data-facet="source"][data-value="Báo Đăng Lại"]')
    wait_true(page, "document.querySelectorAll('#results .hit').length === 1")
    assert "where=source%3D" in page.url and "Nguồn: Báo Đăng Lại" in page.inner_text("#active")


def test_a_year_facet_sets_the_date_range(page):
    page.fill("#q", "thiên tai")
    page.wait_for_selector('.facet-value[data-facet="year"]')
    page.click('.facet-value[data-facet="year"][data-value="2023"]')
    wait_true(page, "location.search.includes('since=2023-01-01')")
    assert page.input_value("#since") == "2023-01-01" and page.input_value("#until") == "2023-12-31"


def test_opening_a_document_shows_its_text_highlighted_with_copies_and_similar(page):
    page.fill("#q", "vàng")
    page.wait_for_selector("#results .hit")
    page.click('#results a.hit-title[data-id="d02"]')
    page.wait_for_selector("#doc-view:not([hidden]) #doc-text mark")
    body = page.inner_text("#doc-text")
    assert "1.000.000" in body and "60,52%" in body
    marks = page.locator("#doc-text mark").all_text_contents()
    assert marks and {m.lower() for m in marks} == {"vàng"}
    page.wait_for_selector("#copies-box:not([hidden]) a")
    assert page.locator("#copies a").first.get_attribute("data-id") == "x01"
    assert "doc=d02" in page.url
    page.keyboard.press("Escape")  # back to the results, keyboard only
    page.wait_for_selector("#results-pane:not([hidden]) .hit")
    assert "doc=" not in page.url


def test_did_you_mean_runs_the_corrected_query(page):
    page.fill("#q", '"gia vang"')
    page.wait_for_selector("#suggestion:not([hidden])")
    assert page.inner_text("#suggestion-link") == '"giá vàng"'
    page.click("#suggestion-link")
    wait_true(page, """document.getElementById('q').value === '"giá vàng"'""")
    page.wait_for_selector("#results .hit mark")
    assert re.search(r"q=%22gi", page.url)


def test_document_text_with_html_and_script_shows_as_text(page):
    page.fill("#q", "pháo hoa thông cáo")
    page.wait_for_selector('#results a.hit-title[data-id="x02"]')
    title = page.locator('#results a.hit-title[data-id="x02"]')
    assert "<script>window.__pwned = 1</script>" in title.inner_text()
    assert "<b>đậm</b>" in title.inner_text()
    assert page.locator("#results script, #results b, #results img, #results i").count() == 0
    title.click()
    page.wait_for_selector("#doc-view:not([hidden]) #doc-text mark")
    text = page.inner_text("#doc-text")
    assert '<img src=x onerror="window.__pwned = 2">' in text and "<script>" in text
    assert "Ban <i>Biên tập</i>" in page.inner_text("#doc-meta")
    assert page.locator("#doc-view img, #doc-view script, #doc-view i").count() == 0
    assert page.evaluate("window.__pwned") is None


def test_keyboard_slash_focuses_the_search_box_and_enter_searches(page):
    page.click("body")
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "q"
    page.keyboard.type("chuyển đổi số")
    page.keyboard.press("Enter")
    page.wait_for_selector('#results a.hit-title[data-id="d11"]')
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")  # past the search button, onto the first result (or a filter)
    assert page.evaluate("document.activeElement.tagName") in ("A", "SELECT", "BUTTON")


def test_paging(page):
    page.fill("#q", "thị trường OR tỉnh OR người OR cầu OR đảng OR hội OR giá")
    page.wait_for_selector("#pager:not([hidden])")
    first = hits(page).locator("a.hit-title").first.get_attribute("data-id")
    page.click("#next")
    wait_true(page, "location.search.includes('page=2')")
    wait_true(page,
        f"document.querySelector('#results a.hit-title').dataset.id !== {first!r}")
    assert page.inner_text("#page-info").startswith("Trang 2")


def test_readable_on_a_phone(browser, server):
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True,
                                  has_touch=True)
    pg = context.new_page()
    pg.goto(server.base + "/?q=v%C3%A0ng")
    pg.wait_for_selector("#results .hit")
    overflow = pg.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    size = pg.evaluate("parseFloat(getComputedStyle(document.querySelector('.snippet')).fontSize)")
    context.close()
    assert overflow <= 0 and size >= 14


def test_the_api_docs_page_renders_the_openapi_document(page, server):
    page.goto(server.base + "/docs")
    page.wait_for_selector("#search h2")
    assert "GET /api/search" in page.inner_text("#search h2")
    page.fill("#search-q", "vàng")
    page.click("#search button[type=submit]")
    wait_true(page, "document.querySelector('#search .answer').textContent.includes('200')")
    assert '"schema_version": 1' in page.inner_text("#search .answer")
