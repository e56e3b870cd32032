"""Renders the edge's nginx configuration from the environment.

    python -m deploy.nginx.render OUT_DIR      # writes OUT_DIR/nginx.conf

EDGE_PORT (8080), RASA_UPSTREAMS and WEB_UPSTREAMS (space-separated host:port; default
127.0.0.1:$RASA_PORT and 127.0.0.1:$WEB_PORT), SERVER_NAME (_), TLS_CERT and TLS_KEY
(when both are set the server listens with TLS). The template is
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
    }


def render(env: Mapping[str, str], prefix: Path) -> str:
    return _Fields(TEMPLATE.read_text(encoding="utf-8")).substitute(fields(env, prefix))


def main() -> None:
    out = Path(sys.argv[1]).resolve()
    out.mkdir(parents=True, exist_ok=True)
    (out / "nginx.conf").write_text(render(os.environ, out), encoding="utf-8")


if __name__ == "__main__":
    main()
