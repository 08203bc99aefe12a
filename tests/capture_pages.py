"""What a participant does on the capture page before recording, shared by the capture browser tests."""

from __future__ import annotations


def join_with_consent(page, link: str, name: str) -> None:
    """Open the join link, give consent under ``name``, and pass the headphones check."""
    page.goto(link)
    page.fill("#name", name)
    page.click("#show-consent")
    page.wait_for_selector("#consent-text:not([hidden])")
    page.check("#agree")
    page.click("#consent-btn")
    page.wait_for_selector("#consent-done:not([hidden])")
    page.click("#hp-tone")
    page.check("#hp-ok")
    page.click("#hp-continue")
