"""Real-browser tests: Debian's Chromium driven by pytest-playwright against pytest-django's
live_server, logging in through the real login forms.

The browser is /usr/bin/chromium (Playwright's own browser download cannot work offline);
without it every test here is skipped with the reason, or fails with it when E2E_REQUIRED=1
(as .ci/run sets: CI must not go green with the browser tests skipped). Screenshots of the key pages go to
$E2E_ARTIFACTS, by default test-artifacts/e2e/ under the repository (gitignored)."""

import os
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
PASSWORD = "pw"  # tests/conftest.py creates every user with it
E2E_DIR = Path(__file__).resolve().parent
REPO_ROOT = E2E_DIR.parent.parent

# The live server sees only committed data, so each test runs in a transactional database that is
# flushed afterwards; serialized_rollback loads back, before each test, what the migrations had
# loaded (frameworks, level rules, the measure library). pytest-django runs these tests after
# the ordinary database tests.
e2e_db = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def e2e_required():
    raw = os.environ.get("E2E_REQUIRED", "").strip()
    if raw not in ("", "0", "1"):
        raise pytest.UsageError(f"E2E_REQUIRED must be 1 or 0, got {raw!r}")
    return raw == "1"


def pytest_collection_modifyitems(config, items):
    # A hook in a sub-directory's conftest still sees every collected item: pick ours.
    for item in items:
        if E2E_DIR in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.e2e)


def pytest_runtest_setup(item):
    # Runtest hooks of this conftest are called for the items of this directory only.
    if not os.path.exists(CHROMIUM):
        reason = f"browser tests need Debian's Chromium at {CHROMIUM} (run scripts/system_packages.sh)"
        if e2e_required():
            pytest.fail(f"E2E_REQUIRED=1: {reason}", pytrace=False)
        pytest.skip(reason)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright's launch options (--headed, --slowmo…) with Debian's Chromium."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="package")
def e2e_browser(django_db_setup, browser_type_launch_args):
    """One Chromium for the tests of this package, stopped after the last of them.

    Not pytest-playwright's session-wide `browser`/`page` fixtures: those parametrize the tests
    by browser at session scope, and pytest then regroups them among the ordinary database
    tests, whose data their flushes would wipe; and their running event loop would outlive
    this package. While Playwright's loop runs in this thread, Django hands out other
    connection objects (ConnectionHandler storage is per event loop), so the serialized
    database contents that serialized_rollback restores are copied onto them."""
    from django.db import connections
    from playwright.sync_api import expect, sync_playwright

    saved = {alias: getattr(connections[alias], "_test_serialized_contents", None) for alias in connections}
    expect.set_options(timeout=10_000)
    with pytest.MonkeyPatch.context() as env, sync_playwright() as playwright:
        # Playwright's sync API keeps an asyncio event loop running in the test thread, and Django
        # would refuse every ORM call made from it (SynchronousOnlyOperation). These calls are plain
        # synchronous code between browser steps. Set for this package only: subprocesses of other
        # tests (manage.py check --deploy) must not inherit it.
        env.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        for alias, contents in saved.items():
            if contents is not None:
                connections[alias]._test_serialized_contents = contents
        browser = playwright.chromium.launch(**browser_type_launch_args)
        yield browser
        browser.close()


@pytest.fixture
def browser_page(e2e_browser, live_server):
    """browser_page(): a page in a fresh browser context (its own cookies: one user each)
    on the live server; browser_page(width=390) for a phone. Confirmation dialogs
    (data-confirm) are accepted and their text kept in page.confirmations."""
    contexts = []

    def _page(width=1280, height=900):
        context = e2e_browser.new_context(
            base_url=live_server.url, locale="th-TH", timezone_id="Asia/Bangkok", viewport={"width": width, "height": height}
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.confirmations = []

        def accept(dialog):
            page.confirmations.append(dialog.message)
            dialog.accept()

        page.on("dialog", accept)
        return page

    yield _page
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def artifacts_dir():
    path = Path(os.environ.get("E2E_ARTIFACTS") or REPO_ROOT / "test-artifacts" / "e2e")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def shoot(artifacts_dir):
    """shoot(page, "name"): a full-page PNG of what the user sees, kept as a test artefact."""

    def _shoot(page, name):
        page.screenshot(path=str(artifacts_dir / f"{name}.png"), full_page=True)

    return _shoot


def admin_login(page, user):
    page.goto("/admin/login/?next=/admin/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_url("**/admin/")


def portal_login(page, user, next_url="/"):
    page.goto(f"/accounts/login/?next={next_url}")
    page.fill("main input[name=username]", user.username)
    page.fill("main input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"**{next_url}")
