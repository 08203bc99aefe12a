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


def create_session(host, base: str, title: str | None = None) -> dict[str, str]:
    """On the host page: open the capture server at ``base``, create a session (titled ``title``), and return
    its two join links by role."""
    host.goto(base + "/")
    if title is not None:
        host.fill("#title", title)
    host.click("#create-btn")
    host.wait_for_selector("#link-B:not(:empty)")
    return {r: host.get_attribute(f"#link-{r}", "href") for r in "AB"}
