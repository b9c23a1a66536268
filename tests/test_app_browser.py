"""The labeling app end to end in a real headless browser (Debian's chromium, driven by Playwright).

Skipped, with the reason, only where chromium or Playwright is missing; `.ci/run` installs both.
"""

from __future__ import annotations

import shutil
import sqlite3
import time
from collections.abc import Iterator

import numpy as np
import pytest
from app_support import CLASSES, make_app, make_image_npz, serving

from semisup.app.model import ModelState

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


def open_page(browser, url: str, user: str | None = "tester"):
    """A page in its own browser context (own cookies: its own session), its labeler's name already
    given (``user``), or None: the page will ask for it."""
    context = browser.new_context()
    if user is not None:
        context.add_init_script(f"localStorage.setItem('semisup_user', {user!r})")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']")
    return page


def current_id(page) -> str:
    return page.get_attribute("#card", "data-item-id")


def press(page, key: str) -> None:
    """Press ``key`` and wait until the page has finished every action it started."""
    page.keyboard.press(key)
    settle(page)


def settle(page) -> None:
    page.evaluate("() => window.semisup.chain")
    page.wait_for_function("() => !window.semisup.busy")


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


# Records, before the page's own handler runs, each key and the item whose image is on screen.
RECORD_KEYS = """() => {
  window.pressed = [];
  window.addEventListener("keydown", (e) => {
    const img = document.querySelector("#view img");
    window.pressed.push([e.key, img ? img.alt.replace("item ", "") : null, e.repeat]);
  }, true);
}"""


def label_events(db) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as c:
        return c.execute("SELECT item_id, label FROM labels WHERE action = 'label' ORDER BY id").fetchall()


def new_model(app, rng) -> None:
    """A refit: the next model version, whose random probabilities re-rank the whole queue."""
    st = app.suggester.state
    proba = rng.dirichlet(np.ones(len(CLASSES)), size=len(app.items))
    app.suggester.state = ModelState(st.version + 1, proba, st.n_labels, 0.0, time.time())


def test_every_label_goes_to_the_item_on_screen_while_refits_reorder_the_queue(browser, tmp_path):
    """Regression (issue 13, high): a refresh after a refit swapped the item on screen, and a key press
    labeled whatever was first in the queue when it ran (10 of 60 labels went to another item)."""
    db = tmp_path / "labels.sqlite"
    app = make_app(make_image_npz(tmp_path), db)
    rng = np.random.default_rng(0)
    with serving(app) as url:
        page = open_page(browser, url + "/")
        page.evaluate(RECORD_KEYS)
        for _ in range(4):  # a refresh re-ranks what comes after the item on screen, never the item
            shown = current_id(page)
            after = page.evaluate("() => window.semisup.queue.map(i => i.id)")
            new_model(app, rng)
            page.evaluate("() => window.semisup.poll()")
            assert page.get_attribute("body", "data-model-version") == str(app.suggester.state.version)
            assert current_id(page) == shown and page.get_attribute("#view img", "alt") == f"item {shown}"
            assert page.evaluate("() => window.semisup.queue.map(i => i.id)") != after
        for n in range(24):  # fast keys, each racing a refresh (and often the last label's POST)
            new_model(app, rng)
            page.evaluate("() => { window.semisup.poll(); }")  # not awaited: the refresh is in flight
            page.keyboard.press(str(1 + n % 3))
            page.wait_for_timeout(int(rng.integers(0, 120)))
        settle(page)
        pressed = page.evaluate("() => window.pressed")
    # every label is (the item on screen at keydown, the key's class), in the order of the key presses
    expected = iter((item, CLASSES[int(key) - 1]) for key, item, _ in pressed)
    events = label_events(db)
    assert all(e in expected for e in events)  # a subsequence: keys pressed while busy gave no label
    assert len(events) >= 6 and len({item for item, _ in events}) == len(events)


def test_a_held_key_labels_one_item(browser, tmp_path):
    """Regression (issue 13, medium): auto-repeat of a held key labeled several unseen items."""
    db = tmp_path / "labels.sqlite"
    with serving(make_app(make_image_npz(tmp_path), db)) as url:
        page = open_page(browser, url + "/")
        page.evaluate(RECORD_KEYS)
        shown = current_id(page)
        page.keyboard.down("2")
        settle(page)
        for _ in range(5):  # the key is still down: each of these is an auto-repeat
            page.keyboard.down("2")
            page.wait_for_timeout(30)
        page.keyboard.up("2")
        settle(page)
        assert [r for _, _, r in page.evaluate("() => window.pressed")] == [False] + [True] * 5
        assert label_events(db) == [(shown, "one")]
        page.close()


def test_keys_are_inert_while_help_is_open_or_a_label_is_pending(browser, tmp_path):
    """Regression (issue 13, medium): keys acted behind the help overlay, and a key pressed while a label
    was saving labeled the next item, which the labeler had not seen."""
    db = tmp_path / "labels.sqlite"
    app = make_app(make_image_npz(tmp_path), db)
    with serving(app) as url:
        page = open_page(browser, url + "/")
        shown = current_id(page)
        press(page, "?")
        for key in ("1", "s", "u", "3"):
            press(page, key)
        assert "open" in page.get_attribute("#help", "class") and label_events(db) == []
        press(page, "Escape")
        fast = app.label

        def slow_label(*args, **kw):  # a slow save: the next keys arrive while it is pending
            time.sleep(0.6)
            return fast(*args, **kw)

        app.label = slow_label
        page.keyboard.press("1")
        for key in ("2", "3", "s"):
            page.keyboard.press(key)
        settle(page)
        assert label_events(db) == [(shown, "zero")] and page.inner_text("#skipped") == "0"
        assert current_id(page) != shown
        page.close()


def test_an_empty_queue_waits_for_items_held_by_another_session(browser, tmp_path):
    """Regression (issue 13, medium): the page said "Nothing left to label" while other sessions held the
    remaining items, and stayed stuck until reloaded."""
    texts = tmp_path / "texts.csv"
    texts.write_text("text,label\nalpha,\nbeta,\ngamma,\n")
    db = tmp_path / "t.sqlite"
    with serving(make_app(texts, db, text_column="text", classes=["neg", "pos"])) as url:
        first = open_page(browser, url + "/", user="ann")  # leases all three items
        second = open_page(browser, url + "/", user="bob")
        second.wait_for_function("() => document.querySelector('#done').classList.contains('waiting')")
        assert second.inner_text("#done").startswith("3 item(s) are being labeled in other sessions")
        held = first.evaluate("() => window.semisup.queue.map(i => i.id)")
        first.goto("about:blank")  # leaving hands the items back (pagehide, keepalive)
        second.wait_for_function(
            "() => document.querySelector('#card').dataset.itemId !== ''", timeout=20_000
        )
        shown = current_id(second)
        assert shown in held and second.is_hidden("#done")
        press(second, "2")
        assert label_events(db) == [(shown, "pos")]
        second.close()


def test_the_labelers_name_is_asked_once_and_kept_with_each_label(browser, tmp_path):
    db = tmp_path / "labels.sqlite"
    app = make_app(make_image_npz(tmp_path), db)
    with serving(app) as url:
        page = open_page(browser, url + "/", user=None)
        assert page.is_visible("#who-name")
        press(page, "1")  # typing the name: no shortcut acts
        assert label_events(db) == []
        page.fill("#who-name", "ann")
        page.keyboard.press("Enter")
        assert page.is_hidden("#who-name") and page.inner_text("#user") == "ann"
        first = current_id(page)
        press(page, "1")
        page.reload()  # the same browser: not asked again
        page.wait_for_selector("body[data-ready='1']")
        assert page.is_hidden("#who-name") and page.inner_text("#user") == "ann"
        second = current_id(page)
        press(page, "2")
        with sqlite3.connect(db) as c:
            assert c.execute("SELECT item_id, user FROM labels ORDER BY id").fetchall() == [
                (first, "ann"),
                (second, "ann"),
            ]
        assert page.inner_text("#kappa") == "–"
        app.label("other", first, "zero", user="bob")  # bob agrees on both items: kappa 1
        app.label("other", second, "one", user="bob")
        page.evaluate("() => window.semisup.poll()")
        assert page.inner_text("#kappa") == "κ 1.00 (2 items)"
        assert page.inner_text("#recent") == f"{second} → one (ann)\n{first} → zero (ann)"
        page.close()
