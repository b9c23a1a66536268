"""The labeling app end to end in a real headless browser (Debian's chromium, driven by Playwright).

Skipped, with the reason, only where chromium or Playwright is missing; `.ci/run` installs both.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator

import pytest
from app_support import CLASSES, make_app, make_image_npz, serving

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    pytest.skip(
        "Debian's chromium is not installed (apt-get install -y chromium chromium-driver; .ci/run does it)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright is not installed: pip install -e '.[dev]'"
)


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield b
        b.close()


def open_page(browser, url: str):
    page = browser.new_page()
    page.set_default_timeout(15_000)
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']")
    return page


def current_id(page) -> str:
    return page.get_attribute("#card", "data-item-id")


def press(page, key: str) -> None:
    """Press ``key`` and wait until the page has finished every action it started."""
    page.keyboard.press(key)
    page.evaluate("() => window.semisup.chain")


def db_labels(db) -> tuple[dict, list]:
    with sqlite3.connect(db) as c:
        current = dict(c.execute("SELECT item_id, label FROM current_labels").fetchall())
        undone = c.execute("SELECT item_id FROM labels WHERE undone_at IS NOT NULL").fetchall()
    return current, [r[0] for r in undone]


def page_labels(page) -> dict:
    return {
        li.get_attribute("data-id"): li.get_attribute("data-label")
        for li in page.query_selector_all("#recent li")
    }


def test_keyboard_labels_survive_a_restart(browser, tmp_path):
    image_npz = make_image_npz(tmp_path)
    db = tmp_path / "labels.sqlite"
    with serving(make_app(image_npz, db)) as url:
        page = open_page(browser, url + "/")
        assert page.inner_text("#total") == "30"
        assert [b.get_attribute("data-class") for b in page.query_selector_all("#classes button")] == CLASSES
        given = {}
        for key in ("1", "2", "3", "1"):
            item = current_id(page)
            press(page, key)
            given[item] = CLASSES[int(key) - 1]
            assert current_id(page) != item
        last = item
        press(page, "u")  # undo the last label: its item is shown again
        del given[last]
        assert current_id(page) == last
        press(page, "?")
        assert "open" in page.get_attribute("#help", "class")
        press(page, "Escape")
        assert "open" not in page.get_attribute("#help", "class")
        assert page.inner_text("#labeled") == "3" and page_labels(page) == given
        assert db_labels(db) == (given, [last])
    page.close()
    with serving(make_app(image_npz, db), token="t0ken") as url:  # a new server on the same file
        page = open_page(browser, url + "/?token=t0ken")  # the printed URL: the token moves to a cookie
        assert page.url == url + "/"
        assert page.inner_text("#labeled") == "3" and page.inner_text("#remaining") == "27"
        assert page_labels(page) == given
        assert current_id(page) not in given
        assert db_labels(db) == (given, [last])
        press(page, "s")  # skip works too: the skipped item leaves the front of the queue
        assert page.inner_text("#skipped") == "1"
        page.close()


def test_page_refreshes_its_queue_when_the_model_retrains(browser, tmp_path):
    image_npz = make_image_npz(tmp_path)
    app = make_app(image_npz, tmp_path / "labels.sqlite", retrain=True, every=3)
    with serving(app) as url:
        page = open_page(browser, url + "/")
        assert page.get_attribute("body", "data-model-version") == "0"
        assert page.inner_text("#suggestion") == "no suggestion yet"
        for key in ("1", "2", "3"):
            press(page, key)
        page.wait_for_function("() => document.body.dataset.modelVersion !== '0'")
        page.evaluate("() => window.semisup.chain")
        assert page.get_attribute("body", "data-model-version") == str(app.suggester.state.version)
        proba = app.suggester.state.proba
        queue = page.evaluate("() => window.semisup.queue.map(i => [i.id, i.suggestion, i.confidence])")
        for item_id, suggestion, confidence in queue:
            k = int(item_id)
            assert suggestion == CLASSES[int(proba[k].argmax())]
            assert confidence == pytest.approx(float(proba[k].max()))
        shown = page.inner_text("#suggestion")
        assert shown == f"model suggests {queue[0][1]} ({round(100 * queue[0][2])}%)"
        assert page.inner_text("#model").startswith(f"v{app.suggester.state.version}")
        page.close()


def test_texts_and_table_rows_are_shown(browser, tmp_path):
    texts = tmp_path / "texts.csv"
    texts.write_text('text,label\n"great, truly",pos\n<b>awful</b>,neg\nfine,\n')
    table = tmp_path / "table.csv"
    table.write_text("height,weight,label\n1.5,3,small\n9,7.25,big\n2.5,4,\n")
    with serving(make_app(texts, tmp_path / "t.sqlite", text_column="text")) as url:
        page = open_page(browser, url + "/")
        assert page.inner_text("#view pre") == "fine"  # the one unlabeled text; HTML is shown as text
        press(page, "1")
        assert page.inner_text("#done") == "Nothing left to label." and db_labels(tmp_path / "t.sqlite")[
            0
        ] == {"2": "neg"}
        page.close()
    with serving(make_app(table, tmp_path / "r.sqlite")) as url:
        page = open_page(browser, url + "/")
        cells = [td.inner_text() for td in page.query_selector_all("#view td")]
        assert cells == ["height", "2.5", "weight", "4"]
        page.close()


def test_crafted_link_cannot_inject_headers_or_script(browser, tmp_path):
    """Regression (issue 13, critical): navigating to /?token=<CRLF + headers + script> used to split the
    response (the token was copied into Set-Cookie) and run the attacker's script in the app's origin."""
    db = tmp_path / "l.sqlite"
    payload = (
        "x%0d%0aSet-Cookie:%20evil=1%0d%0aContent-Length:%2060%0d%0a%0d%0a"
        "%3Cscript%3Ewindow.pwned=1;document.title='pwned'%3C/script%3E"
    )
    with serving(make_app(make_image_npz(tmp_path), db)) as url:
        context = browser.new_context()
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{url}/?token={payload}")
        page.wait_for_selector("body[data-ready='1']")  # redirected to the real page
        assert page.evaluate("() => window.pwned") is None and page.title() != "pwned"
        names = {c["name"] for c in context.cookies()}
        assert "evil" not in names and "semisup_token" not in names
        context.close()
    with sqlite3.connect(db) as c:
        assert c.execute("SELECT COUNT(*) FROM labels").fetchone()[0] == 0
