"""The example forum driven in a real browser (headless Chromium through Selenium).

Needs Chromium and its driver: on Debian ``apt-get install chromium chromium-driver``
(``/usr/bin/chromium``, ``/usr/bin/chromedriver``); elsewhere set ``KUDOS_CHROMIUM``
and ``KUDOS_CHROMEDRIVER`` to their paths. Without them the test is skipped, unless
``CI=true`` or ``KUDOS_REQUIRE_BROWSER=1``, when it fails. Screenshots of every step
are saved under ``KUDOS_SCREENSHOTS`` (default: the test's temporary directory) and
the directory is printed.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from forum_app import load_forum, serving
from kudos.testing import FakeClock

HOW_TO_ENABLE = (
    "install Chromium and its driver (Debian: apt-get install chromium chromium-driver; "
    "or set KUDOS_CHROMIUM and KUDOS_CHROMEDRIVER to their paths) and Selenium "
    "(pip install -e '.[test]')"
)


def _browser_paths() -> tuple[str, str]:
    """Chromium's and chromedriver's paths; skips (or fails where required) without them."""
    chromium = os.environ.get("KUDOS_CHROMIUM") or shutil.which("chromium") or ""
    driver = os.environ.get("KUDOS_CHROMEDRIVER") or shutil.which("chromedriver") or ""
    problems = [
        name
        for name, path in (("chromium", chromium), ("chromedriver", driver))
        if not (path and Path(path).is_file())
    ]
    try:
        import selenium  # noqa: F401
    except ImportError:
        problems.append("selenium")
    if problems:
        message = f"the browser test needs {', '.join(problems)}; to run it, {HOW_TO_ENABLE}"
        if os.environ.get("CI") == "true" or os.environ.get("KUDOS_REQUIRE_BROWSER") == "1":
            pytest.fail(f"CI=true or KUDOS_REQUIRE_BROWSER=1, but {message}")
        pytest.skip(message)
    return chromium, driver


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    """A headless Chromium with a fresh profile."""
    chromium, driver_path = _browser_paths()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,1000",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    where = Path(os.environ.get("KUDOS_SCREENSHOTS") or tmp_path / "screenshots")
    where.mkdir(parents=True, exist_ok=True)
    print(f"\nforum screenshots: {where}")
    return where


class Forum:
    """The forum as a member sees it in the browser."""

    def __init__(self, driver: Any, base: str, screenshots: Path) -> None:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        self.driver, self.base, self.shots, self.by = driver, base, screenshots, By
        self.wait = WebDriverWait(driver, 15)
        self.step = 0

    def go(self, path: str) -> None:
        self.driver.get(self.base + path)

    def find(self, css: str) -> Any:
        return self.driver.find_element(self.by.CSS_SELECTOR, css)

    def all(self, css: str) -> list[Any]:
        return list(self.driver.find_elements(self.by.CSS_SELECTOR, css))

    def text(self, css: str) -> str:
        return str(self.find(css).text)

    def submit(self, button: Any) -> None:
        """Click ``button`` and wait until the next page has loaded."""
        self.driver.execute_script("window.kudosOldPage = true;")
        button.click()
        self.wait.until(
            lambda driver: driver.execute_script(
                "return window.kudosOldPage === undefined && document.readyState === 'complete';"
            )
        )

    def choose(self, select: Any, text: str) -> None:
        from selenium.webdriver.support.ui import Select

        Select(select).select_by_visible_text(text)

    def flash(self) -> str:
        return " ".join(str(e.text) for e in self.all(".flash"))

    def shot(self, name: str) -> None:
        self.step += 1
        self.driver.save_screenshot(str(self.shots / f"{self.step:02d}-{name}.png"))

    def sign_in(self, name: str) -> None:
        if self.all("nav form button"):
            self.submit(self.find("nav form button"))  # sign out
        self.go("/signin")
        self.find("#name").send_keys(name)
        self.submit(self.find("#signin button"))
        assert self.flash() == f"Signed in as {name}."
        assert self.text("#me") == name


def test_a_question_answered_rewarded_and_paid_out_in_the_browser(
    browser: Any, screenshots: Path, tmp_path: Path
) -> None:
    clock = FakeClock(datetime(2026, 11, 20, 12, tzinfo=UTC))
    forum_module = load_forum()
    app = forum_module.create_app(f"sqlite:///{tmp_path / 'forum.db'}", clock=clock)
    with serving(app) as base:
        forum = Forum(browser, base, screenshots)

        # bob asks a question
        forum.sign_in("bob")
        forum.go("/ask")
        forum.find("#title").send_keys("No data abroad")
        forum.find("#body").send_keys("My phone shows no data in Spain.")
        forum.find("#tags").send_keys("roaming")
        forum.submit(forum.find("#ask button"))
        assert forum.text("#topic-title") == "No data abroad"
        forum.shot("question")

        # alice answers it
        forum.sign_in("alice")
        forum.go("/")
        forum.submit(forum.driver.find_element(forum.by.LINK_TEXT, "No data abroad"))
        forum.find("#reply-body").send_keys("Turn on data roaming in Settings.")
        forum.submit(forum.find("#reply button"))
        assert "0 kudos" in forum.text("#r1")
        # kudos on her own reply is refused, and the forum wrote nothing either
        forum.submit(forum.find("#r1 .give-kudos"))
        assert "cannot give kudos to their own reply" in forum.flash()
        assert "0 kudos" in forum.text("#r1")
        forum.shot("own-kudos-refused")
        forum.go("/m/alice")
        assert (forum.text("#points"), forum.text("#reputation")) == ("0", "0")
        assert forum.text("#rank") == "Member"

        # bob gives kudos and accepts the answer
        forum.sign_in("bob")
        forum.go("/t/1")
        forum.submit(forum.find("#r1 .give-kudos"))
        assert forum.flash() == "Kudos given."
        assert "1 kudos (bob)" in forum.text("#r1")
        forum.submit(forum.find("#r1 .accept"))
        assert forum.flash() == "Marked as the solution."
        assert forum.text("#r1 .accepted") == "Accepted solution"
        forum.shot("accepted")

        # alice sees her points, reputation and what her next rank needs
        forum.sign_in("alice")
        forum.go("/m/alice")
        assert (forum.text("#points"), forum.text("#reputation")) == ("55", "11")
        assert forum.text("#rank") == "Member"
        assert forum.text("#next-rank") == "Next: 39 more reputation to Bronze Star"
        statement = forum.text("#statement")
        assert "+50 points reply 'r1' accepted as the solution of 't1'" in statement
        assert "+5 points kudos from bob on reply 'r1'" in statement
        forum.shot("alice-standing")

        # alice proposes an idea; bob votes; staff implement it: her rank changes
        forum.go("/ask?kind=idea")
        forum.find("#title").send_keys("eSIM support")
        forum.submit(forum.find("#ask button"))
        forum.sign_in("bob")
        forum.go("/t/2")
        forum.submit(forum.find("#vote"))
        assert forum.text("#idea-votes") == "1 vote"
        forum.go("/ideas")
        assert "eSIM support alice new 1" in forum.text("#ideas")
        forum.shot("ideas-board")
        forum.sign_in("staff")
        forum.go("/staff")
        for status in ("planned", "implemented"):
            forum.choose(forum.find("#staff-ideas select"), status)
            forum.submit(forum.find("#staff-ideas button"))
            assert forum.flash() == f"Idea t2 is now {status}."
        forum.sign_in("alice")
        forum.go("/m/alice")
        assert (forum.text("#points"), forum.text("#reputation")) == ("655", "71")
        assert forum.text("#rank") == "Bronze Star"
        assert "Bronze Star" not in forum.text("#next-rank")
        forum.shot("alice-bronze-star")

        # the leaderboard
        forum.go("/leaderboards")
        assert forum.text("#board-title") == "Reputation"
        rows = [r.text for r in forum.all("#leaderboard tr")[1:]]
        assert rows[0] == "1 alice 71"
        forum.submit(forum.find("#board-solutions"))
        assert [r.text for r in forum.all("#leaderboard tr")[1:]] == ["1 alice 1"]
        forum.shot("leaderboard")

        # alice refers carol, whose SIM activates: the referral pays alice
        forum.go("/m/alice")
        link = forum.find("#referral-link").get_attribute("href")
        forum.submit(forum.find("nav form button"))  # sign out
        forum.driver.get(link)
        forum.find("#name").send_keys("carol")
        forum.submit(forum.find("#signin button"))
        assert forum.flash() == "Signed in as carol."
        forum.sign_in("staff")
        forum.go("/staff")
        assert forum.text("#referred td") == "carol"
        forum.submit(forum.find("#referred button"))
        assert forum.flash() == "carol's referral qualified."
        forum.sign_in("alice")
        forum.go("/m/alice")
        assert (forum.text("#points"), forum.text("#reputation")) == ("1,655", "81")
        statement = forum.text("#statement")
        assert "+500 points referral of 'carol' qualified" in statement
        assert "+500 points bonus: 1st rewarded referral ever ('carol')" in statement
        forum.shot("referral-paid")

        # alice asks to be paid in credit; the period ends and staff close it
        forum.choose(forum.find("#method"), "credit")
        forum.submit(forum.find("#payout-method button"))
        assert forum.flash() == "You will be paid by credit."
        clock.set(datetime(2026, 12, 2, 9, tzinfo=UTC))
        forum.sign_in("staff")
        forum.go("/staff")
        assert forum.text("#periods").count("ended") == 1
        forum.shot("close-period")
        forum.submit(forum.find("#close-2026-H2"))
        assert forum.flash() == "Closed 2026-H2: 1 payout, £16.55."
        rows = [r.text for r in forum.all("#payouts tr")[1:]]
        assert rows == ["2026-H2 alice credit 1,655 £16.55 issued"]
        assert "2026-H2 (1 Jun 2026 to 30 Nov 2026): 1 payout, £16.55" in forum.text(
            ".period-summary"
        )
        forum.shot("payouts")

        # bob and carol chose no method: their points carry over; alice sees her payout
        assert "505 points carried over to 2027-H1" in forum.text(".period-summary")
        forum.sign_in("alice")
        forum.go("/m/alice")
        assert forum.text("#points") == "0"
        assert "2026-H2 credit 1,655 £16.55 issued" in forum.text("#member-payouts")
        forum.shot("alice-paid")


def test_without_chromium_the_browser_test_skips_saying_how_to_enable_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KUDOS_CHROMIUM", str(tmp_path / "no-chromium"))
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("KUDOS_REQUIRE_BROWSER", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install chromium chromium-driver"):
        _browser_paths()


@pytest.mark.parametrize("variable", ["CI=true", "KUDOS_REQUIRE_BROWSER=1"])
def test_where_the_browser_is_required_its_absence_fails(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str
) -> None:
    monkeypatch.setenv("KUDOS_CHROMIUM", str(tmp_path / "no-chromium"))
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("KUDOS_REQUIRE_BROWSER", raising=False)
    name, value = variable.split("=")
    monkeypatch.setenv(name, value)
    with pytest.raises(pytest.fail.Exception, match="needs chromium"):
        _browser_paths()
