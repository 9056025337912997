"""The admin's pages in a real headless browser (Debian's chromium, as
tests/test_console_browser.py, whose kefu and browser fixtures this module reuses): an admin
adds a user on the page, the person sets a password through the link and signs in, the admin
disables them after the confirmation and they are signed out; screenshots at 390 px."""

from __future__ import annotations

from tests.test_console_browser import (  # noqa: F401 (fixtures)
    ARTEFACTS,
    Page,
    driver,
    kefu_running,
    page,
)


def test_an_admin_adds_a_user_in_the_browser_and_disables_them(page: Page) -> None:
    # here, not at the top: the import above skips this module without selenium or chromium
    from selenium.webdriver.common.by import By

    page.sign_in("admin", path="/users")
    page.wait(lambda: page.d.find_elements(By.ID, "form-add-user"))
    form = page.d.find_element(By.ID, "form-add-user")
    form.find_element(By.NAME, "username").send_keys("zhou")
    form.find_element(By.NAME, "display_name").send_keys("周工")
    form.find_element(By.CSS_SELECTOR, "input[name=roles][value=sales]").click()
    form.find_element(By.CSS_SELECTOR, "select[name=department] option[value=sales]").click()
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    page.wait(lambda: page.d.find_elements(By.ID, "setup-link"))
    link = page.d.find_element(By.ID, "setup-link").text
    assert "/setup/" in link

    page.d.delete_all_cookies()
    page.d.get(link)
    page.d.find_element(By.NAME, "new_password").send_keys("zhou's own password")
    page.d.find_element(By.NAME, "new_password_again").send_keys("zhou's own password")
    page.d.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    page.wait(lambda: "/setup/" not in page.d.current_url)
    page.sign_in("zhou", "zhou's own password")
    assert "周工" in page.text()
    zhou_cookies = page.d.get_cookies()

    page.sign_in("admin", path="/users")
    page.wait(lambda: page.d.find_elements(By.ID, "user-zhou"))
    page.d.find_element(By.CSS_SELECTOR, "form[action='/users/zhou/disable'] button").click()
    page.wait(lambda: page.d.switch_to.alert)
    page.d.switch_to.alert.accept()
    page.wait(lambda: "done=zhou" in page.d.current_url)
    assert page.d.find_elements(By.CSS_SELECTOR, "form[action='/users/zhou/enable']")
    for name, path in (
        ("users", "/users"),
        ("tokens", "/tokens"),
        ("severity", "/rules/severity"),
        ("modes", "/rules/failure-modes"),
    ):
        page.open(path)
        page.shot(f"admin-{name}-zh-390", width=390)
        page.d.set_window_size(390, 900)
        assert page.d.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1"), path
        page.d.set_window_size(1280, 900)
    assert (ARTEFACTS / "admin-users-zh-390.png").exists()

    page.d.delete_all_cookies()  # zhou's browser again: the next click signs them out
    page.open("/signin")
    for cookie in zhou_cookies:
        page.d.add_cookie({"name": cookie["name"], "value": cookie["value"], "path": "/"})
    page.open("/")
    page.wait(lambda: "/signin" in page.d.current_url)
