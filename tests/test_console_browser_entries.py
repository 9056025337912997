"""Log an entry in a real headless browser (Debian's chromium, as tests/test_console_browser.py,
whose fixtures this uses; skipped with it when chromium is not installed): Sales type part of
a caller's number, pick the contact the lookup offers, log the call, and land on the new
case with the confirmation. A screenshot of the form at 390 px goes to the artefacts."""

from __future__ import annotations

from selenium.webdriver.common.by import By

from tests.test_console_browser import Page, driver, kefu_running, page  # noqa: F401


def test_sales_log_a_phone_call_with_the_caller_lookup_and_see_the_case(page: Page) -> None:
    archive = page.running.kefu.archive
    customer = page.running.call(archive.create_customer("华东制动系统", "HDZD"))
    contact = page.running.call(archive.create_contact(customer, "赵工", "zh", "phone", [("phone", "139 1234 5678")]))
    page.sign_in("sales", path="/entries/new")
    assert "登记客户信息反馈" in page.text()
    page.d.find_element(By.ID, "entry-number").send_keys("1234 5678")
    pick = page.wait(lambda: page.d.find_elements(By.CSS_SELECTOR, f"#caller-matches [data-contact='{contact}']"))
    assert "赵工" in pick[0].text and "HDZD" in pick[0].text
    pick[0].click()
    assert page.d.find_element(By.ID, "entry-contact").get_attribute("value") == str(contact)
    assert page.d.find_element(By.ID, "entry-customer").get_attribute("value") == "HDZD"
    page.d.find_element(By.NAME, "subject").send_keys("制动盘漏油")
    page.d.find_element(By.NAME, "description").send_keys("客户来电：制动盘漏油，批次 C0912。")
    page.shot("entry-zh-390", width=390)
    page.d.find_element(By.ID, "entry-submit").click()
    page.wait(lambda: "done=logged" in page.d.current_url or page.d.find_elements(By.ID, "entry-error"))
    assert "done=logged" in page.d.current_url, page.text()[:2000]
    reference = page.d.current_url.split("/cases/")[1].split("?")[0]
    text = page.text()
    assert f"已登记，案件 {reference} 已创建。" in text and "制动盘漏油" in text and "赵工" in text
