"""Renders the edge's nginx configuration from the environment.

    python -m deploy.nginx.render OUT_DIR      # writes OUT_DIR/nginx.conf

EDGE_PORT (8080), RASA_UPSTREAMS and WEB_UPSTREAMS (space-separated host:port; default
127.0.0.1:$RASA_PORT and 127.0.0.1:$WEB_PORT), SERVER_NAME (_), TLS_CERT and TLS_KEY
(when both are set the server listens with TLS).

With RASA_INTERNAL_PORT and ACTION_UPSTREAMS set (`make run-cluster`), the same nginx also
balances the traffic inside the deployment, on loopback only: the desk's calls to Rasa's
API (http://127.0.0.1:$RASA_INTERNAL_PORT, over every Rasa instance) and Rasa's calls to
the action servers (http://127.0.0.1:$ACTION_INTERNAL_PORT, default 5054). These carry
their own credentials (the Rasa API token, the action server token); the public server
block never routes to them. The template is
deploy/nginx/govbot.conf.template: only braced upper-case `${FIELDS}` are ours, nginx's
own `$variables` pass through, and a field left unfilled is an error.
"""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from string import Template
from typing import Dict, Mapping

TEMPLATE = Path(__file__).with_name("govbot.conf.template")
_UPSTREAM = re.compile(r"[A-Za-z0-9.\-\[\]:]+:\d{1,5}")


class _Fields(Template):
    pattern = r"\$(?:(?P<escaped>(?!))|\{(?P<braced>[A-Z_]+)\}|(?P<named>(?!))|(?P<invalid>(?!)))"


def _servers(value: str) -> str:
    servers = value.split()
    bad = [s for s in servers if not _UPSTREAM.fullmatch(s)]
    if not servers or bad:
        raise SystemExit(f"upstreams must be host:port, got {value!r}")
    return "\n        ".join(f"server {s} max_fails=2 fail_timeout=5s;" for s in servers)


_INTERNAL = """
    # Inside the deployment, on loopback: the desk → Rasa's API, Rasa → action servers.
    upstream actions {
        ${ACTION_SERVERS}
        keepalive 32;
    }
    server {
        listen 127.0.0.1:${RASA_INTERNAL_PORT};
        client_max_body_size 4m;
        client_body_buffer_size 4m;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_connect_timeout 3s;
        location / { proxy_pass http://rasa; }
    }
    server {
        listen 127.0.0.1:${ACTION_INTERNAL_PORT};
        client_max_body_size 4m;
        client_body_buffer_size 4m;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_connect_timeout 3s;
        location / { proxy_pass http://actions; }
    }
"""


def _port(value: str, name: str) -> str:
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise SystemExit(f"{name} must be a port number, got {value!r}")
    return value


def internal(env: Mapping[str, str]) -> str:
    """The loopback balancers of a cluster, or nothing (one process of each kind)."""
    if not env.get("RASA_INTERNAL_PORT") or not env.get("ACTION_UPSTREAMS"):
        return ""
    return _Fields(_INTERNAL).substitute({
        "ACTION_SERVERS": _servers(env["ACTION_UPSTREAMS"]),
        "RASA_INTERNAL_PORT": _port(env["RASA_INTERNAL_PORT"], "RASA_INTERNAL_PORT"),
        "ACTION_INTERNAL_PORT": _port(env.get("ACTION_INTERNAL_PORT", "5054"),
                                      "ACTION_INTERNAL_PORT"),
    })


def fields(env: Mapping[str, str], prefix: Path) -> Dict[str, str]:
    port = env.get("EDGE_PORT", "8080")
    cert, key = env.get("TLS_CERT", ""), env.get("TLS_KEY", "")
    tls = ""
    if cert and key:
        port = f"{port} ssl"
        tls = (f"ssl_certificate {cert};\n        ssl_certificate_key {key};\n"
               f"        ssl_protocols TLSv1.2 TLSv1.3;")
    return {
        "PREFIX": str(prefix),
        "EDGE_LISTEN": port,
        "TLS": tls,
        "SERVER_NAME": env.get("SERVER_NAME", "_"),
        "RASA_SERVERS": _servers(env.get("RASA_UPSTREAMS")
                                 or f"127.0.0.1:{env.get('RASA_PORT', '5005')}"),
        "WEB_SERVERS": _servers(env.get("WEB_UPSTREAMS")
                                or f"127.0.0.1:{env.get('WEB_PORT', '8800')}"),
        "INTERNAL": internal(env),
    }


def render(env: Mapping[str, str], prefix: Path) -> str:
    return _Fields(TEMPLATE.read_text(encoding="utf-8")).substitute(fields(env, prefix))


def main() -> None:
    out = Path(sys.argv[1]).resolve()
    out.mkdir(parents=True, exist_ok=True)
    (out / "nginx.conf").write_text(render(os.environ, out), encoding="utf-8")


if __name__ == "__main__":
    main()
