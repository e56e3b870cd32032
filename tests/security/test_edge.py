"""The nginx edge (deploy/nginx/) in front of the started stack: the public routes pass,
everything else ends at the edge with 404, oversize bodies with 413."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

from deploy.nginx.render import render

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def edge(stack):
    if shutil.which("nginx") is None:
        pytest.fail("nginx is missing: `make test` installs Debian's nginx")
    prefix = Path(tempfile.mkdtemp(prefix="govbot-edge-"))
    prefix.chmod(0o755)
    port = _free_port()
    env = {"EDGE_PORT": str(port),
           "RASA_UPSTREAMS": urlparse(stack["RASA_PORT"]).netloc,
           "WEB_UPSTREAMS": urlparse(stack["WEB_PORT"]).netloc}
    (prefix / "nginx.conf").write_text(render(env, prefix), encoding="utf-8")
    process = subprocess.Popen(["nginx", "-p", str(prefix), "-c", str(prefix / "nginx.conf"),
                                "-g", "daemon off;"], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"nginx did not start: {process.stderr.read().decode()[-2000:]}")
            time.sleep(0.2)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(10)
    shutil.rmtree(prefix, ignore_errors=True)


def status_of(url: str, method: str = "GET", body: bytes | None = None, headers=None) -> int:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


@pytest.mark.parametrize("method, path", [
    ("GET", "/status"), ("GET", "/version"), ("GET", "/conversations/x/tracker"),
    ("POST", "/conversations/x/tracker/events"), ("PUT", "/model"), ("POST", "/model/parse"),
    ("POST", "/webhooks/rest/webhook"), ("POST", "/desk/internal/handoffs"),
    ("GET", "/api/v1/applications"), ("GET", "/healthz"), ("POST", "/webhook"),
])
def test_internal_routes_end_at_the_edge(edge, method, path):
    body = b"{}" if method in ("POST", "PUT") else None
    headers = {"Content-Type": "application/json", "Authorization": "Bearer anything"}
    assert status_of(edge + path, method, body, headers) == 404


@pytest.mark.parametrize("path, expected", [
    ("/socket.io/?EIO=4&transport=polling", 200), ("/widget/widget.js", 200),
    ("/desk", 200), ("/", 200), ("/api/matters/search?q=%E5%B1%85%E4%BD%8F%E8%AF%81", 200),
])
def test_public_routes_pass(edge, path, expected):
    assert status_of(edge + path) == expected


def test_platform_webhooks_reach_their_connectors(edge):
    """An unsigned request is refused by the connector itself (not the edge's 404)."""
    status = status_of(edge + "/webhooks/wechat_oa/webhook?signature=x&timestamp=1&nonce=1",
                       "POST", b"<xml></xml>", {"Content-Type": "text/xml"})
    assert status == 403  # the WeChat connector's answer to a bad signature


def test_oversize_bodies_are_refused_before_they_are_sent(edge):
    """The edge answers 413 from the headers alone: not a byte of the 10 MB is sent."""
    import http.client

    connection = http.client.HTTPConnection(urlparse(edge).netloc, timeout=5)
    connection.putrequest("POST", "/webhooks/wechat_oa/webhook")
    connection.putheader("Content-Type", "text/xml")
    connection.putheader("Content-Length", str(10 * 1024 * 1024))
    connection.endheaders()
    assert connection.getresponse().status == 413
    connection.close()
