"""The edge's configuration as rendered for one process of each kind and for a cluster
(deploy/nginx/render.py): what is balanced where, and that nginx itself accepts it."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from deploy.nginx.render import render

CLUSTER = {"RASA_UPSTREAMS": "127.0.0.1:5005 127.0.0.1:5006", "RASA_INTERNAL_PORT": "5004",
           "ACTION_UPSTREAMS": "127.0.0.1:5055 127.0.0.1:5056"}


def test_one_of_each_has_no_inside_balancers(tmp_path):
    conf = render({}, tmp_path)
    assert "server 127.0.0.1:5005 max_fails=2" in conf
    assert "upstream actions" not in conf and "listen 127.0.0.1:" not in conf


def test_a_cluster_balances_rasa_and_the_action_servers_on_loopback_only(tmp_path):
    conf = render(CLUSTER, tmp_path)
    for server in ("127.0.0.1:5005", "127.0.0.1:5006", "127.0.0.1:5055", "127.0.0.1:5056"):
        assert f"server {server} max_fails=2 fail_timeout=5s;" in conf
    assert "listen 127.0.0.1:5004;" in conf and "listen 127.0.0.1:5054;" in conf
    # the public server block listens on the edge port and never routes to the actions
    public = conf.split("listen 8080;", 1)[1].split("\n    }\n", 1)[0]
    assert "http://actions" not in public and "location / { return 404; }" in public


def test_socketio_polling_goes_by_client_address_and_websockets_anywhere(tmp_path):
    conf = render(CLUSTER, tmp_path)
    assert "hash $remote_addr consistent;" in conf
    assert "map $arg_transport $socketio_upstream { websocket rasa; default rasa_by_client; }" in conf
    assert "proxy_pass http://$socketio_upstream;" in conf


@pytest.mark.parametrize("env", [
    {**CLUSTER, "RASA_INTERNAL_PORT": "80; include /etc/passwd"},
    {**CLUSTER, "ACTION_UPSTREAMS": "127.0.0.1:5055; evil"},
    {**CLUSTER, "ACTION_INTERNAL_PORT": "70000"},
])
def test_odd_values_are_refused_not_written_into_the_config(tmp_path, env):
    with pytest.raises(SystemExit):
        render(env, tmp_path)


@pytest.mark.parametrize("env", [{}, CLUSTER], ids=["one", "cluster"])
def test_nginx_accepts_the_rendered_config(tmp_path, env):
    if shutil.which("nginx") is None:
        pytest.fail("nginx is missing: `make test` installs Debian's nginx")
    (tmp_path / "nginx.conf").write_text(render(env, tmp_path), encoding="utf-8")
    result = subprocess.run(["nginx", "-t", "-p", str(tmp_path), "-c",
                             str(Path(tmp_path) / "nginx.conf")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
