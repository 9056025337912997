"""The staff console in a real headless browser: Debian's chromium driven by chromium-driver
through Selenium (never a downloaded browser). kefu runs for real (SMTP intake, processor,
dispatcher, web) in a thread of its own; the customer writes by SMTP.

One browser and one kefu for the module (starting either is the slow part); each test opens
its own case. Screenshots of the main pages, in Chinese and English, wide and 390 px, go to
KEFU_TEST_ARTEFACTS (default tests/artefacts/, gitignored)."""

from __future__ import annotations

import asyncio
import os
import shutil
import smtplib
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import AsyncExitStack
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import select

from cases.settings import Settings
from cases.store.models import Case
from kefu.bootstrap import Kefu
from tests.conftest import ListTransport, free_port
from tests.served import served

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[test]')")
if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
    pytest.skip(
        f"needs Debian's chromium and chromium-driver ({CHROMIUM}, {CHROMEDRIVER}); .ci/run installs them",
        allow_module_level=True,
    )

from selenium.common.exceptions import NoAlertPresentException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

T = TypeVar("T")
PASSWORD = "correct horse battery"
CUSTOMER = "zhang.wei@dfmc-parts.cn"
# username, roles, department
STAFF = [
    ("gm", ["approver"], None),
    ("prod", ["department"], "production_equipment"),
    ("qe", ["quality"], "quality"),
    ("sales", ["sales"], "sales"),
    ("tech", ["department"], "technical_development"),
    ("admin", ["admin", "approver", "sales", "quality"], None),
    ("victim", ["sales"], "sales"),
]
ARTEFACTS = Path(os.environ.get("KEFU_TEST_ARTEFACTS", Path(__file__).parent / "artefacts")) / "console"


class Running:
    """kefu served by its own event loop in a thread; the test's (blocking) browser calls run
    beside it, and `call` runs a coroutine on kefu's loop."""

    def __init__(self, settings: Settings) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="kefu", daemon=True)
        self.thread.start()
        self.stack = AsyncExitStack()
        self.kefu: Kefu = self.call(self.stack.enter_async_context(served(settings, transport=ListTransport())))

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.call(self.stack.aclose())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="module")
def kefu_running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    folder = tmp_path_factory.mktemp("console")
    settings = Settings(
        data_dir=folder,
        database_url=f"sqlite+aiosqlite:///{folder / 'kefu.sqlite3'}",
        secret_key="test-secret",
        mail_domains=("kefu.example",),
        smtp_listen=("127.0.0.1", free_port()),
        http_listen=("127.0.0.1", free_port()),
        instance_id="test",
        parse_workers=0,
    )
    running = Running(settings)
    for name, roles, department in STAFF:
        running.call(
            running.kefu.users.add(
                name, roles=roles, department=department, email=f"{name}@supplier.example", password=PASSWORD
            )
        )
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def driver() -> Iterator[WebDriver]:
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--lang=zh-CN"):
        options.add_argument(arg)
    options.add_argument("--window-size=1280,900")
    options.add_experimental_option("prefs", {"intl.accept_languages": "zh-CN,zh"})  # --lang is ignored headless
    # Naming the driver's path keeps Selenium Manager from looking for (or downloading) one.
    browser = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    browser.implicitly_wait(0)
    try:
        yield browser
    finally:
        browser.quit()


class Page:
    """The browser on kefu's console, with the few moves the scenarios make."""

    def __init__(self, driver: WebDriver, running: Running) -> None:
        self.d = driver
        self.running = running
        host, port = running.kefu.settings.http_listen
        self.base = f"http://{host}:{port}"

    def open(self, path: str) -> None:
        self.d.get(self.base + path)

    def text(self) -> str:
        return str(self.d.find_element(By.TAG_NAME, "body").text)

    def sign_in(self, who: str, password: str = PASSWORD, path: str = "/") -> None:
        self.d.delete_all_cookies()
        self.open(path)
        self.d.find_element(By.NAME, "username").send_keys(who)
        self.d.find_element(By.NAME, "password").send_keys(password)
        self.d.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        # until the answer is in: signed in (away from /signin), or told why not
        self.wait(lambda: "/signin" not in self.d.current_url or self.d.find_elements(By.ID, "signin-error"))

    def step(self, reference: str, segment: str, **fields: str) -> None:
        self.open(f"/cases/{reference}")
        found = self.d.find_elements(By.ID, f"form-{segment}")
        assert found, f"no form {segment} on {self.d.current_url}: {self.text()[:3000]}"
        form = found[0]
        summary = form.find_element(By.XPATH, "..").find_element(By.TAG_NAME, "summary")
        if form.find_element(By.XPATH, "..").get_attribute("open") is None:
            summary.click()
        for name, value in fields.items():
            element = form.find_element(By.NAME, name)
            if element.tag_name == "select":
                element.find_element(By.CSS_SELECTOR, f"option[value='{value}']").click()
            else:
                element.clear()
                element.send_keys(value)
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        self.wait(lambda: "done=" in self.d.current_url or self.d.find_elements(By.ID, "step-error"))
        errors = self.d.find_elements(By.ID, "step-error")
        assert not errors, errors[0].text

    def state(self) -> str:
        return str(self.d.find_element(By.ID, "case-state").get_attribute("data-state"))

    def wait(self, check: Callable[[], Any], timeout: float = 20) -> Any:
        return WebDriverWait(self.d, timeout, poll_frequency=0.1).until(lambda _: check())

    def shot(self, name: str, width: int = 1280) -> None:
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        self.d.set_window_size(width, 900)
        height = int(self.d.execute_script("return document.documentElement.scrollHeight"))
        self.d.set_window_size(width, min(max(height, 600), 5000))
        self.d.save_screenshot(str(ARTEFACTS / f"{name}.png"))
        # nothing sticks out sideways: a phone's reader scrolls down only (wide tables scroll in their box)
        sideways = self.d.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
        self.d.set_window_size(1280, 900)
        assert int(sideways) <= 1, f"{name}: the page is {sideways} px wider than the window"


@pytest.fixture
def page(driver: WebDriver, kefu_running: Running) -> Page:
    return Page(driver, kefu_running)


def send_mail(running: Running, subject: str, body: str, html: str | None = None) -> None:
    m = EmailMessage()
    m["From"] = f"张伟 <{CUSTOMER}>"
    m["To"] = "service@kefu.example"
    m["Subject"] = subject
    m["Message-ID"] = f"<{time.monotonic_ns()}@dfmc-parts.cn>"
    m.set_content(body)
    if html is not None:
        m.add_alternative(html, subtype="html")
    with smtplib.SMTP("127.0.0.1", running.kefu.settings.smtp_listen[1], timeout=10) as client:
        client.send_message(m)


def case_with_subject(running: Running, subject: str, timeout: float = 20) -> str:
    async def find() -> str | None:
        async with running.kefu.db.reader() as s:
            return (await s.execute(select(Case.reference).where(Case.subject == subject))).scalar_one_or_none()

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = running.call(find())
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"no case with the subject {subject!r} after {timeout}s")


def test_a_case_by_email_through_the_whole_procedure_on_the_pages(page: Page) -> None:
    send_mail(page.running, "刹车片异响", "零件号：3501-00123\n批次：B2026-1107\n装车后刹车片异响。")
    reference = case_with_subject(page.running, "刹车片异响")

    # The approver follows the notice's link, signs in and lands on the case.
    page.sign_in("gm", path=f"/cases/{reference}")
    page.wait(lambda: f"/cases/{reference}" in page.d.current_url and page.d.find_elements(By.ID, "case-state"))
    assert page.state() == "new" and "装车后刹车片异响" in page.text()
    page.shot("case-new-zh")
    page.step(reference, "approve", department="production_equipment", severity="medium")
    assert page.state() == "assigned"

    page.sign_in("prod")
    page.wait(lambda: reference in page.text())  # on My work, waiting for the department
    page.shot("my-work-zh")
    page.shot("my-work-zh-390", width=390)
    page.step(reference, "analysis", analysis="摩擦材料批次配方偏差")
    page.step(reference, "measures", measures="更换供应商批次，增加来料检验")
    assert page.state() == "measures_taken"

    # A member of another department: not in the list, and not by typing the URL either.
    page.sign_in("tech")
    page.open("/cases")
    assert reference not in page.text()
    page.open(f"/cases/{reference}")
    assert "没有找到" in page.text() and "刹车片异响" not in page.text()

    page.sign_in("qe")
    page.step(reference, "verify", verification="复测合格")
    page.sign_in("sales")
    page.step(reference, "reply", message="经分析为摩擦材料批次问题，已更换并加严检验。")
    assert page.state() == "awaiting_satisfaction"
    page.shot("case-awaiting-zh")
    page.shot("case-awaiting-zh-390", width=390)

    # The customer answers 满意 by mail; the page shows the case closed.
    send_mail(page.running, f"Re: [{reference}] 刹车片异响", "满意，谢谢！")

    def closed() -> bool:
        page.open(f"/cases/{reference}")
        return page.state() == "closed"

    page.wait(closed, timeout=30)
    assert "满意" in page.d.find_element(By.ID, "case-rating").text
    page.shot("case-closed-zh")


def test_a_form_posted_without_its_csrf_token_changes_nothing(page: Page) -> None:
    send_mail(page.running, "漏油 CSRF", "减震器漏油。")
    reference = case_with_subject(page.running, "漏油 CSRF")
    page.sign_in("gm", path=f"/cases/{reference}")
    page.wait(lambda: page.d.find_elements(By.ID, "form-approve"))
    page.d.find_element(By.CSS_SELECTOR, "#form-approve option[value='quality']").click()
    page.d.execute_script("document.querySelector('#form-approve input[name=csrf_token]').remove()")
    page.d.find_element(By.CSS_SELECTOR, "#form-approve button[type=submit]").click()
    page.wait(lambda: page.d.find_elements(By.ID, "error-message"))
    assert "安全令牌" in page.text()
    page.open(f"/cases/{reference}")
    assert page.state() == "new"


def test_a_mail_with_script_and_onerror_shows_as_text(page: Page) -> None:
    body = '请看 <script>window.pwned = 1</script> 和 <img src=x onerror="window.pwned = 2">'
    html = '<p>请看</p><script>window.pwned = 3</script><img src=x onerror="window.pwned = 4">'
    send_mail(page.running, "异响 <b>粗体</b>", body, html=html)
    reference = case_with_subject(page.running, "异响 <b>粗体</b>")
    page.sign_in("gm", path=f"/cases/{reference}")
    page.wait(lambda: page.d.find_elements(By.ID, "case-state"))
    assert "<script>window.pwned = 1</script>" in page.text()
    assert "onerror=" in page.text() and "<b>粗体</b>" in page.text()
    assert page.d.execute_script("return window.pwned === undefined")
    with pytest.raises(NoAlertPresentException):
        page.d.switch_to.alert.text  # noqa: B018 (reading it is the check)
    assert not page.d.find_elements(By.CSS_SELECTOR, "#conversation img, #conversation b")


def test_screenshots_of_the_main_pages_in_chinese_and_english(page: Page) -> None:
    # a case of its own for the case page: the module's other tests may run in another worker
    send_mail(page.running, "离合器踏板发软", "零件号：3502-00456\n踩下离合器踏板发软。")
    case_with_subject(page.running, "离合器踏板发软")
    page.d.delete_all_cookies()
    page.open("/signin")
    page.shot("signin-zh")
    page.shot("signin-zh-390", width=390)
    page.sign_in("admin")
    page.wait(lambda: page.d.find_elements(By.CSS_SELECTOR, ".tiles"))
    for language in ("zh", "en"):
        page.open("/account")
        page.d.find_element(By.CSS_SELECTOR, f"#language option[value='{language}']").click()
        page.d.find_element(By.CSS_SELECTOR, "form[action='/account/language'] button").click()
        page.wait(lambda: "done=language_saved" in page.d.current_url)
        for name, path in (
            ("my-work", "/"),
            ("cases", "/cases"),
            ("quarantine", "/quarantine"),
            ("users", "/users"),
            ("entry", "/entries/new"),
            ("customers", "/customers"),
            ("reports", "/reports"),
            ("warnings", "/warnings"),
            ("departments", "/departments"),
            ("templates", "/templates"),
            ("routing", "/rules/routing"),
        ):
            page.open(path)
            page.shot(f"{name}-{language}")
            page.shot(f"{name}-{language}-390", width=390)
        page.open("/cases")
        page.d.find_element(By.CSS_SELECTOR, ".rows a").click()
        page.wait(lambda: page.d.find_elements(By.ID, "case-state"))
        page.shot(f"case-{language}")
        page.shot(f"case-{language}-390", width=390)
        assert ("Timeline" if language == "en" else "时间线") in page.text()
    # at 390 px the page does not scroll sideways
    page.d.set_window_size(390, 900)
    assert page.d.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.d.set_window_size(1280, 900)
    assert sorted(p.name for p in ARTEFACTS.glob("case-en*.png")) == ["case-en-390.png", "case-en.png"]


def test_ten_wrong_passwords_throttle_the_account(page: Page) -> None:
    for _ in range(10):
        page.sign_in("victim", "not the password")
        page.wait(lambda: page.d.find_elements(By.ID, "signin-error"))
    assert "登录失败次数过多" in page.text()
    page.sign_in("victim", PASSWORD)  # the right password waits the window out too
    page.wait(lambda: page.d.find_elements(By.ID, "signin-error"))
    assert "登录失败次数过多" in page.text()
    page.sign_in("gm")  # another account is not held up
    page.wait(lambda: page.d.find_elements(By.CSS_SELECTOR, ".tiles"))


def test_chromium_is_debians_not_a_downloaded_one(driver: WebDriver) -> None:
    assert shutil.which("chromium") == CHROMIUM
    assert driver.capabilities["browserName"] == "chrome"
