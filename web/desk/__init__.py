"""The agent desk under /desk: sign-in, live queue, conversations, supervisor view — an
aiohttp sub-application of the web app (app.py makes and mounts it; routes.py, views.py
and auth.py are its URLs, handlers and checks; keys.py what it keeps).

It also owns the handoff queue: the action server asks for a person through the
/desk/internal/ endpoints (service token), so the queue works across processes even
without Redis. See docs/handoff.md.

Security: sessions are HttpOnly SameSite=Strict cookies; every state-changing request
must carry the session's CSRF token in X-CSRF-Token and a JSON body; failed sign-ins are
limited per account and per client address (X-Forwarded-For counts only when a trusted
proxy sent it, TRUSTED_PROXIES); an agent reads and writes only conversations assigned to
them (supervisors read all); revealing a masked number is audited.
"""
from web.desk.app import create_app, mount

__all__ = ["create_app", "mount"]
