"""The URLs of the backend and their handlers (docs/backend-openapi.yaml documents each;
tests/backend/test_openapi.py checks the two agree)."""
from __future__ import annotations

from aiohttp import web

from standins.gov_backend import views


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", views.health)
    app.router.add_get("/api/v1/applications", views.list_applications)
    app.router.add_get("/api/v1/applications/{number}", views.get_application)
    app.router.add_get("/api/v1/people/{id_number}/applications", views.person_applications)
    app.router.add_post("/api/v1/identity/check", views.identity_check)
    app.router.add_post("/api/v1/sms/send", views.send_sms)
    app.router.add_get("/api/v1/enterprises/{credit_code}", views.get_enterprise)
    app.router.add_get("/api/v1/people/{person}/enterprises", views.person_enterprises)
    app.router.add_get("/api/v1/licences", views.list_licences)
