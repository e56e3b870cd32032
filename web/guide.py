"""The citizen's guide page of one matter (办事指南) at `/guide/{code}`: what to bring,
how long it takes, what it costs, where and whether it can be done online, the steps.

Server-rendered (web/templates/guide.html) from the typed `Matter` of the app's catalog,
the same index the bot and the matter API use, so the page and the bot never disagree.
What the catalog leaves out is left out of the page. Two values are not shown as the
catalog wrote them: the online address becomes a link only when it is an http(s) URL
(an export's `javascript:` is no link), and a window's phone becomes a `tel:` link of
its digits only. An unknown code gets a 404 page with a search box (guide_missing.html).
docs/guide-pages.md says what the pages show and why.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Tuple
from urllib.parse import urlsplit

from aiohttp import web

from bot.catalog.schema import Matter
from web.search import CATALOG_KEY, MAX_QUERY, citizen_page

#: What a telephone link may hold: digits, and a leading + (anything else is dropped).
_NOT_DIALLED = re.compile(r"[^0-9+]")
#: Between two numbers in one field ("021-1234 / 021-5678"): no one link dials both.
_SEVERAL = re.compile(r"[/、,，;；或]")


def link_target(url: str) -> str:
    """`url` when it is an absolute http(s) URL a citizen may follow, else ""."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.netloc and not any(c.isspace() for c in url):
        return url
    return ""


def tel_href(phone: str) -> str:
    """`tel:` and the digits of `phone` ("021-28951900" → "tel:02128951900"); "" when
    it holds none or several (such a phone stays text)."""
    if _SEVERAL.search(phone):
        return ""
    digits = _NOT_DIALLED.sub("", phone)
    digits = digits[:1] + digits[1:].replace("+", "")
    return f"tel:{digits}" if sum(c.isdigit() for c in digits) >= 3 else ""


@dataclass(frozen=True)
class WindowView:
    """An office as the page shows it: the catalog's words and a dialable link."""

    name: str
    address: str
    hours: str
    district: str
    phone: str
    tel: str


@dataclass(frozen=True)
class GuideView:
    """What the guide page shows of one matter; everything else comes from `matter`."""

    matter: Matter
    online_link: str
    windows: Tuple[WindowView, ...]

    @property
    def base_held(self) -> int:
        """How many of the base materials the government already holds (免提交)."""
        return sum(1 for m in self.matter.materials if m.held_by_government)



def guide_view(matter: Matter) -> GuideView:
    return GuideView(
        matter=matter,
        online_link=link_target(matter.online_url) if matter.online_available else "",
        windows=tuple(
            WindowView(w.name, w.address, w.hours, w.district, w.phone, tel_href(w.phone))
            for w in matter.windows
        ),
    )


async def guide_page(request: web.Request) -> web.Response:
    code = request.match_info["code"]
    matter = request.app[CATALOG_KEY].index().get(code[:64])
    if matter is None:
        return citizen_page(request, "guide_missing.html", status=404, max_query=MAX_QUERY)
    return citizen_page(request, "guide.html", guide=guide_view(matter))


def register(app: web.Application) -> None:
    """`/guide/{code}`, over the catalog the matter API serves (web/search.py, which must
    be registered first)."""
    app.router.add_get("/guide/{code:.*}", guide_page)  # anything else under it: the 404 page
