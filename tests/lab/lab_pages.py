"""Reading the gateway's block and warning pages: the "continue" action of a
warning page (a link or a form; its path is found in the page, not assumed)."""

from __future__ import annotations

import dataclasses
import html.parser
import urllib.parse


@dataclasses.dataclass
class ContinueAction:
    url: str  # absolute, as in the page
    method: str  # "GET" | "POST"
    fields: dict[str, str]  # form fields (POST, or GET forms)

    @property
    def host(self) -> str:
        return urllib.parse.urlsplit(self.url).hostname or ""

    @property
    def path_and_query(self) -> str:
        parts = urllib.parse.urlsplit(self.url)
        return parts.path + (f"?{parts.query}" if parts.query else "")


class _Finder(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.forms: list[dict] = []
        self._form: dict | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "form":
            self._form = {"action": a.get("action") or "", "method": (a.get("method") or
                                                                      "GET").upper(),
                          "fields": {}}
            self.forms.append(self._form)
        elif tag in ("input", "button") and self._form is not None and a.get("name"):
            self._form["fields"][a["name"]] = a.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None


def _is_continue(url: str) -> bool:
    return "continue" in url.lower() or "/.well-known/tlsgate" in url.lower()


def continue_action(page: str, host: str) -> ContinueAction | None:
    """The page's continue action, made absolute against https://<host>/."""
    finder = _Finder()
    finder.feed(page)
    base = f"https://{host}/"
    for form in finder.forms:
        if _is_continue(form["action"]) or any(_is_continue(k) for k in form["fields"]):
            return ContinueAction(urllib.parse.urljoin(base, form["action"]), form["method"],
                                  form["fields"])
    for link in finder.links:
        if _is_continue(link):
            return ContinueAction(urllib.parse.urljoin(base, link), "GET", {})
    return None
