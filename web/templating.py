"""The web app's HTML pages: Jinja2 templates under web/templates/, rendered with
autoescape on, so whatever reaches a page (a host name, a setting, later a citizen's
words) is text there, in an element or an attribute, never markup.

One Environment is made when the app is created (web/app.py) and kept under
TEMPLATES_KEY; it compiles a template once and recompiles it when the file changes.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Optional

import jinja2
from aiohttp import web

from web.keys import TEMPLATES_KEY

TEMPLATES_DIR = Path(__file__).parent / "templates"


def environment(directory: Path = TEMPLATES_DIR) -> jinja2.Environment:
    """Autoescaped, and strict: a name a template uses but is not given is an error, not
    an empty string on a page."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(directory),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(
    request: web.Request, name: str, headers: Optional[Mapping[str, str]] = None,
    **context: Any,
) -> web.Response:
    """The template `name` as an HTML answer, from the app's (or a parent app's)
    Environment."""
    page = request.config_dict[TEMPLATES_KEY].get_template(name).render(**context)
    return web.Response(text=page, content_type="text/html", charset="utf-8", headers=headers)
