"""The browser suite: Debian's Chromium driven by Playwright against the test application
served on a local port, in Chinese and China's time zone, CSRF on, as the demo users.

Chromium is required (`make test` installs it when it may): a missing browser fails these
tests, it never skips them."""
import os
import shutil
import threading

import pytest
from werkzeug.serving import make_server

from tests.conftest import PASSWORD

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = os.environ.get("BROWSER_SHOTS")      # a folder: every test leaves its screenshots there


@pytest.fixture(scope="session")
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright
    assert os.path.exists(CHROMIUM), (
        f"Chromium not found at {CHROMIUM}: apt-get install chromium fonts-wqy-microhei")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM,
                                     args=["--no-sandbox", "--lang=zh-CN"],
                                     env={**os.environ, "LANG": "zh_CN.UTF-8",
                                          "LANGUAGE": "zh_CN:zh"})
        yield browser
        browser.close()


@pytest.fixture
def browse(app, live_server, chromium, request):
    """browse("ty_hosp1") → a logged-in Playwright page (its base URL is the server)."""
    app.config["WTF_CSRF_ENABLED"] = True          # conftest's clean-up switches it off again
    contexts = []

    def _open(username, password=PASSWORD):
        context = chromium.new_context(base_url=live_server, locale="zh-CN",
                                       timezone_id="Asia/Shanghai",
                                       viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.goto("/login/")
        page.fill("#username", username)
        page.fill("#password", password)
        page.click("form [type=submit]")
        page.wait_for_url(lambda url: "/login" not in url)
        return page
    yield _open
    if SHOTS:
        os.makedirs(SHOTS, exist_ok=True)
        for n, context in enumerate(contexts):
            for m, page in enumerate(context.pages):
                page.screenshot(path=os.path.join(SHOTS, f"{request.node.name}-{n}{m}.png"),
                                full_page=True)
    for context in contexts:
        context.close()


@pytest.fixture
def shot(request):
    """shot(page, "step") → a full-page screenshot in BROWSER_SHOTS (when set) for a person to
    look at; the suite asserts on the page, the picture is for the review."""
    def _shot(page, step):
        if SHOTS:
            os.makedirs(SHOTS, exist_ok=True)
            page.screenshot(path=os.path.join(SHOTS, f"{request.node.name}-{step}.png"),
                            full_page=True)
    return _shot
