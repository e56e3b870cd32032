"""The stand-in government backend (applications, people, licences, SMS) on :8700.

`DEV_TOKEN` is the service credential accepted when BACKEND_SERVICE_TOKENS is not set
(development only; docs/backend.md). It lives here so the client can default to it
without importing the server.
"""

DEV_TOKEN = "dev-backend-token-not-for-production"
