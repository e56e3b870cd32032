"""The typed keys of what the web app keeps on its aiohttp Application for its whole life.

The root app and the desk's sub-application both hold these two; each module's own
state has its key in that module (CATALOG_KEY in search.py, STORE_KEY in documents.py,
ASSETS_KEY in widget.py, the desk's in desk/keys.py).
"""
from __future__ import annotations

import jinja2
from aiohttp import web

from bot.settings import WebSettings

#: The settings read once when the app was created (bot/settings.py, load_web).
SETTINGS_KEY = web.AppKey("settings", WebSettings)
#: The page templates (web/templating.py), one Environment for the app's life.
TEMPLATES_KEY = web.AppKey("templates", jinja2.Environment)
