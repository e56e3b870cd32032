"""The desk's URLs, relative to where it is mounted (auth.PREFIX, /desk): the pages,
its files, the agents' API under /api/ and the action server's under /internal/ (which
the edge proxy never forwards, deploy/nginx)."""
from __future__ import annotations

from pathlib import Path

from aiohttp import web

from web.desk import orders, review, views

STATIC = Path(__file__).resolve().parents[1] / "static" / "desk"


def setup_routes(desk: web.Application) -> None:
    r = desk.router
    r.add_get("", views.desk_page)  # /desk itself
    r.add_get("/", views.desk_page)
    r.add_get("/supervisor", views.supervisor_page)
    r.add_static("/static/", STATIC)
    r.add_post("/api/login", views.login)
    r.add_post("/api/logout", views.logout)
    r.add_get("/api/me", views.me)
    r.add_post("/api/presence", views.presence)
    r.add_get("/api/queue", views.queue_view)
    r.add_post("/api/handoffs/{handoff_id}/accept", views.accept)
    r.add_get("/api/handoffs/{handoff_id}", views.conversation)
    r.add_post("/api/handoffs/{handoff_id}/reveal", views.reveal)
    r.add_post("/api/handoffs/{handoff_id}/reply", views.reply)
    r.add_post("/api/handoffs/{handoff_id}/transfer", views.transfer)
    r.add_post("/api/handoffs/{handoff_id}/end", views.end)
    r.add_get("/api/handoffs/{handoff_id}/context", views.handoff_context)
    r.add_post("/api/handoffs/{handoff_id}/notes", views.add_note)
    r.add_post("/api/handoffs/{handoff_id}/take_over", views.take_over)
    r.add_get("/api/canned", views.canned)
    r.add_get("/api/work_orders", views.work_orders)
    r.add_get("/api/work_orders/{number}", views.work_order)
    r.add_post("/api/work_orders/{number}/claim", views.claim_order)
    r.add_post("/api/work_orders/{number}/reveal", views.reveal_order)
    r.add_post("/api/work_orders/{number}/close", views.close_order)
    r.add_get("/api/supervisor/overview", views.overview)
    r.add_get("/api/supervisor/wallboard", views.wallboard)
    r.add_post("/internal/handoffs", views.internal_handoff)
    r.add_post("/internal/work_orders", views.internal_work_order)
    r.add_post("/internal/work_orders/{number}/callback", views.internal_callback)
    r.add_post("/internal/work_orders/{number}/cancel", views.internal_cancel)
    r.add_post("/internal/work_orders/of_conversation", views.internal_orders_of)
    r.add_post("/internal/ratings", views.internal_rating)
    review.add_routes(desk)
    orders.add_routes(desk)
