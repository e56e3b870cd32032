"""The stand-in government backend process.

A real city replaces this with its own systems. So far it only answers its health check;
the application-status issue adds applications, people, licences and the SMS outbox.
"""
from __future__ import annotations

import argparse

from aiohttp import web

from bot import settings


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok", "service": "stand-in government backend"})


def create_app() -> web.Application:
    app = web.Application(client_max_size=256 * 1024)
    app.router.add_get("/healthz", health)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="stand-in government backend")
    parser.add_argument("--port", type=int, default=settings.load().backend_port)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    web.run_app(create_app(), host=args.host, port=args.port, access_log=None)


if __name__ == "__main__":
    main()
