"""The Kubernetes manifests of deploy/k8s/ (docs/deploy.md "Kubernetes").

They are checked against the Kubernetes schemas with kubernetes-validate (strict: an
unknown or misspelt field fails), which lives in a venv of its own, build/tools/k8s
(`make k8s-tools`, a prerequisite of `make test`): it needs a newer jsonschema than
Rasa 3.6 allows. Then what a deployment relies on, read from the YAML: probes on each
process's own health endpoints, requests and limits, credentials only from Secrets
(with placeholders production refuses), one public Service, the autoscaler on Rasa,
no root, and the edge's nginx configuration equal to a fresh render.
"""
from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple
from urllib.parse import urlsplit

import pytest
import yaml

from bot import settings
from deploy.k8s import render_edge

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
VALIDATOR = ROOT / "build" / "tools" / "k8s" / "bin" / "kubernetes-validate"
#: The oldest Kubernetes the manifests are meant for and the newest the validator knows.
KUBERNETES_VERSIONS = ("1.30", "1.37")
MANIFESTS = sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")
SECRETS_FILE = K8S / "secrets.example.yaml"
#: Each Python process and the port its health endpoints and /metrics are served on.
PROCESS_PORTS = {"rasa": 5005, "actions": 5055, "web": 8800, "stats": 8790}
PLACEHOLDER = "REPLACE_ME"


def load(path: Path) -> List[Dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


RESOURCES = [(path.name, doc) for path in MANIFESTS for doc in load(path)]


def of_kind(kind: str) -> Dict[str, Dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for _, doc in RESOURCES if doc["kind"] == kind}


def pod_specs() -> Iterator[Tuple[str, Dict[str, Any]]]:
    for kind in ("Deployment", "Job"):
        for name, doc in of_kind(kind).items():
            yield f"{kind}/{name}", doc["spec"]["template"]["spec"]


def all_containers() -> Iterator[Tuple[str, Dict[str, Any]]]:
    for where, spec in pod_specs():
        for container in spec.get("initContainers", []) + spec["containers"]:
            yield f"{where}/{container['name']}", container


def credentials() -> set:
    """Every variable that holds a credential: the development secrets of scripts/run.sh,
    the SecretStr settings of bot/settings.py, the store URLs (they carry passwords) and
    the channel variables credentials.yml names."""
    run_sh = (ROOT / "scripts" / "run.sh").read_text(encoding="utf-8")
    dev = re.search(r'^DEV_SECRETS="([^"]+)"', run_sh, flags=re.M)
    assert dev, "scripts/run.sh no longer says DEV_SECRETS=\"...\""
    names = set(dev.group(1).split())
    for field in settings.Settings.__fields__.values():
        if field.type_ is settings.SecretStr:
            names |= set(field.field_info.extra["env_names"])
    names |= {"DATABASE_URL", "BOT_DATABASE_URL", "TRACKER_DATABASE_URL", "REDIS_URL"}
    return {name.upper() for name in names} | channel_variables()


def channel_variables() -> set:
    creds = yaml.safe_load((ROOT / "credentials.yml").read_text(encoding="utf-8"))
    return {value for options in creds.values() if options
            for key, value in options.items() if key.endswith("_env")}


#: Credentials the deployment does not set: the stand-in backend's list of accepted tokens
#: (our client sends BACKEND_SERVICE_TOKEN) and the optional split of DATABASE_URL.
NOT_DEPLOYED = {"BACKEND_SERVICE_TOKENS", "BOT_DATABASE_URL", "TRACKER_DATABASE_URL"}


def secrets_example() -> Dict[str, Dict[str, str]]:
    return {doc["metadata"]["name"]: doc["stringData"] for doc in load(SECRETS_FILE)}


_QUANTITY = re.compile(r"^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi|k|M|G)?$")
_FACTORS = {None: 1, "m": 0.001, "Ki": 1024, "Mi": 1024 ** 2, "Gi": 1024 ** 3,
            "k": 1000, "M": 1000 ** 2, "G": 1000 ** 3}


def quantity(value: Any) -> float:
    match = _QUANTITY.match(str(value))
    assert match, f"not a quantity this test reads: {value!r}"
    return float(match.group(1)) * _FACTORS[match.group(2)]


# -- the schemas ---------------------------------------------------------------------


def validate(files: List[Path]) -> List[str]:
    """What kubernetes-validate objects to in `files` (strict, every version): errors,
    and warnings too: an unknown kind or apiVersion is only a warning to it."""
    if not VALIDATOR.exists():
        pytest.fail(f"{VALIDATOR.relative_to(ROOT)} is missing: run `make k8s-tools` "
                    f"(`make test` does), deploy/k8s/requirements-validate.txt")
    command = [str(VALIDATOR), "--strict"]
    for version in KUBERNETES_VERSIONS:
        command += ["-k", version]
    done = subprocess.run(command + [str(f) for f in files], capture_output=True, text=True,
                          timeout=300)
    lines = (done.stdout + done.stderr).splitlines()
    problems = [line for line in lines if not line.startswith("INFO ")]
    passed = [line for line in lines if line.startswith("INFO ") and " passed for " in line]
    resources = sum(len(load(f)) for f in files) * len(KUBERNETES_VERSIONS)
    if done.returncode != 0:
        problems.append(f"exit status {done.returncode}")
    if len(passed) != resources:
        problems.append(f"{len(passed)} of {resources} resource checks passed")
    return problems


def test_every_manifest_is_valid_against_the_kubernetes_schemas():
    assert MANIFESTS, "no manifests in deploy/k8s"
    assert validate(MANIFESTS) == []


def _rasa_deployment() -> Dict[str, Any]:
    return yaml.safe_load(yaml.safe_dump(of_kind("Deployment")["rasa"]))


def test_the_validator_fails_a_misspelt_field(tmp_path):
    broken = _rasa_deployment()
    container = broken["spec"]["template"]["spec"]["containers"][0]
    container["readinesProbe"] = container.pop("readinessProbe")
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(broken), encoding="utf-8")
    problems = validate([path])
    assert any("readinesProbe" in line and line.startswith("ERROR") for line in problems), \
        problems


def test_the_validator_fails_a_wrong_type_and_an_unknown_api(tmp_path):
    wrong_type = _rasa_deployment()
    wrong_type["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "x"
    unknown_api = _rasa_deployment()
    unknown_api["apiVersion"] = "apps/v1beta9"
    for name, doc in (("type", wrong_type), ("api", unknown_api)):
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(doc), encoding="utf-8")
        assert validate([path]), f"{name}: the validator found nothing wrong"


def test_kustomization_applies_every_manifest_but_the_secrets():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    listed = kustomization["resources"]
    assert len(listed) == len(set(listed))
    # The Secrets are created apart, so an apply never overwrites real values.
    assert set(listed) == {p.name for p in MANIFESTS} - {SECRETS_FILE.name}


def test_everything_is_in_the_govbot_namespace():
    assert set(of_kind("Namespace")) == {"govbot"}
    for file, doc in RESOURCES:
        if doc["kind"] != "Namespace":
            assert doc["metadata"].get("namespace") == "govbot", (file, doc["metadata"])


# -- probes and sizes ----------------------------------------------------------------


def _port_number(container: Dict[str, Any], port: Any) -> int:
    if isinstance(port, int):
        return port
    named = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
    assert port in named, f"{container['name']}: no port named {port!r}"
    return named[port]


def test_every_long_running_container_has_readiness_and_liveness_probes():
    for name, doc in of_kind("Deployment").items():
        spec = doc["spec"]["template"]["spec"]
        for container in spec["containers"]:
            assert "readinessProbe" in container, (name, container["name"])
            assert "livenessProbe" in container, (name, container["name"])


def test_python_processes_are_probed_on_their_own_health_endpoints():
    deployments = of_kind("Deployment")
    for name, port in PROCESS_PORTS.items():
        container = deployments[name]["spec"]["template"]["spec"]["containers"][0]
        assert _port_number(container, container["ports"][0]["name"]) == port
        for probe, path in (("readinessProbe", "/health/ready"),
                            ("livenessProbe", "/health/live")):
            get = container[probe]["httpGet"]
            assert get["path"] == path, (name, probe)
            assert _port_number(container, get["port"]) == port, (name, probe)


def test_rasa_has_time_to_load_its_model():
    container = of_kind("Deployment")["rasa"]["spec"]["template"]["spec"]["containers"][0]
    startup = container["startupProbe"]
    assert startup["httpGet"]["path"] == "/health/live"
    # The model loads in 30-60 s: at least two minutes before liveness may restart it.
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 120


def test_the_edge_is_probed_on_its_own_port():
    container = of_kind("Deployment")["edge"]["spec"]["template"]["spec"]["containers"][0]
    port = _port_number(container, container["ports"][0]["name"])
    for probe in ("readinessProbe", "livenessProbe"):
        assert _port_number(container, container[probe]["tcpSocket"]["port"]) == port


def test_every_container_has_requests_and_limits():
    for where, container in all_containers():
        resources = container.get("resources", {})
        for kind in ("cpu", "memory"):
            request = resources.get("requests", {}).get(kind)
            limit = resources.get("limits", {}).get(kind)
            assert request and limit, (where, kind)
            assert quantity(request) <= quantity(limit), (where, kind, request, limit)


def test_rasa_memory_follows_the_measurement():
    """The request holds the measured VmRSS (README "Measured"); the limit holds two
    models, as while a published model loads beside the serving one."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    measured = re.search(r"Rasa ([\d,]+) MB", readme.split("## Measured", 1)[-1])
    assert measured, "README's Measured section names no Rasa memory"
    rss = float(measured.group(1).replace(",", "")) * 1000 ** 2
    resources = of_kind("Deployment")["rasa"]["spec"]["template"]["spec"]["containers"][0][
        "resources"]
    assert quantity(resources["requests"]["memory"]) >= rss
    assert quantity(resources["limits"]["memory"]) >= 2 * rss


# -- processes and configuration -----------------------------------------------------


def _container(name: str) -> Dict[str, Any]:
    return of_kind("Deployment")[name]["spec"]["template"]["spec"]["containers"][0]


def _option(command: List[str], option: str) -> str:
    assert option in command, (option, command)
    return command[command.index(option) + 1]


def test_processes_listen_on_the_pod_network_and_their_ports():
    rasa = _container("rasa")["command"]
    assert rasa[:4] == ["python", "-m", "rasa_ext.server", "run"] and "--enable-api" in rasa
    assert _option(rasa, "--interface") == "0.0.0.0" and _option(rasa, "--port") == "5005"
    assert _option(rasa, "--credentials") == "credentials.yml"
    for name, module in (("actions", "actions.server"), ("web", "web.app")):
        command = _container(name)["command"]
        assert command[:3] == ["python", "-m", module]
        assert _option(command, "--host") == "0.0.0.0"
        assert int(_option(command, "--port")) == PROCESS_PORTS[name]
    assert _container("stats")["command"] == ["python", "-m", "bot.stats.consumer"]
    config = of_kind("ConfigMap")["govbot-config"]["data"]
    assert config["BIND_HOST"] == "0.0.0.0" and config["GOVBOT_ENV"] == "production"
    assert int(config["STATS_PORT"]) == PROCESS_PORTS["stats"]


def test_rasa_reads_the_endpoints_its_init_container_writes():
    spec = of_kind("Deployment")["rasa"]["spec"]["template"]["spec"]
    init = spec["initContainers"][0]
    assert init["command"][:3] == ["python", "-m", "rasa_ext.endpoints"]
    written = Path(init["command"][3])
    read = Path(_option(spec["containers"][0]["command"], "--endpoints"))
    assert written == read

    def volume_at(container: Dict[str, Any], path: Path) -> str:
        mounts = [m for m in container["volumeMounts"] if path.parent == Path(m["mountPath"])]
        assert mounts, (container["name"], path)
        return mounts[0]["name"]

    assert volume_at(init, written) == volume_at(spec["containers"][0], read)
    model = Path(_option(spec["containers"][0]["command"], "--model"))
    assert volume_at(spec["containers"][0], model) == "models"


def test_config_names_only_variables_bot_settings_reads():
    source = (ROOT / "bot" / "settings.py").read_text(encoding="utf-8")
    for key in of_kind("ConfigMap")["govbot-config"]["data"]:
        assert f'"{key}"' in source, f"{key} is not read by bot/settings.py"


def test_the_parts_reach_each_other_through_their_services():
    config = of_kind("ConfigMap")["govbot-config"]["data"]
    services = of_kind("Service")
    for variable, service, path in (("ACTION_ENDPOINT_URL", "actions", "/webhook"),
                                    ("RASA_URL", "rasa", ""), ("DESK_URL", "web", "")):
        url = urlsplit(config[variable])
        assert url.hostname == service and url.path == path, variable
        assert url.port in [p["port"] for p in services[service]["spec"]["ports"]], variable


def test_python_processes_run_one_image():
    images = {container["image"] for where, container in all_containers()
              if not where.startswith("Deployment/edge/")}
    assert len(images) == 1, images


# -- credentials ---------------------------------------------------------------------


def test_credentials_come_only_from_secret_key_refs():
    names = credentials()
    secrets = secrets_example()
    for where, container in all_containers():
        for source in container.get("envFrom", []):
            assert set(source) == {"configMapRef"}, (where, source)
        for env in container.get("env", []):
            if env["name"] not in names:
                continue
            assert "value" not in env, (where, env["name"])
            ref = env["valueFrom"]["secretKeyRef"]
            assert ref["key"] in secrets.get(ref["name"], {}), (where, ref)
            assert ref["key"] == env["name"], (where, ref)
    for name, config in of_kind("ConfigMap").items():
        assert not names & set(config.get("data", {})), name


def test_every_credential_has_a_key_in_the_secrets():
    keys = {key for values in secrets_example().values() for key in values}
    missing = credentials() - NOT_DEPLOYED - keys
    assert not missing, f"no Secret key for {sorted(missing)}"
    # Channel variables are optional (a connector without them answers 503); the rest
    # must exist, or the pod does not start.
    for where, container in all_containers():
        for env in container.get("env", []):
            ref = env.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                assert ref.get("optional", False) == (env["name"] in channel_variables()), \
                    (where, env["name"])


def test_rasa_gets_every_channel_variable():
    env = {e["name"] for e in _container("rasa")["env"]}
    assert channel_variables() <= env


@pytest.fixture
def production(monkeypatch):
    monkeypatch.setenv("GOVBOT_ENV", "production")
    settings.reset()
    yield monkeypatch
    settings.reset()


def test_the_placeholders_are_refused_in_production(production):
    core = secrets_example()["govbot-secrets"]
    for name, value in core.items():
        production.setenv(name, value)
    settings.reset()
    tokens = [name for name in core if not name.endswith("_URL")]
    assert tokens
    for name in tokens:
        assert PLACEHOLDER in core[name]
        with pytest.raises(settings.InsecureConfiguration):
            settings.secret(name, "development value")
    with pytest.raises(settings.InsecureConfiguration):
        settings.rabbitmq_url()
    for name in ("DATABASE_URL", "REDIS_URL", "RABBITMQ_URL"):
        url = urlsplit(core[name])
        assert url.password == PLACEHOLDER and url.hostname.endswith(".invalid"), name
    # A placeholder in a channel variable would be a signing key anyone can read.
    assert set(secrets_example()["govbot-channel-secrets"].values()) == {""}
    tls = secrets_example()["govbot-edge-tls"]
    assert set(tls.values()) == {PLACEHOLDER}


# -- exposure, scaling, privileges -----------------------------------------------------


def test_only_the_edge_service_is_public():
    for name, service in of_kind("Service").items():
        kind = service["spec"]["type"]
        if name == "edge":
            assert kind == "LoadBalancer"
            # The citizen's address survives (rate limits and the long-polling hash).
            assert service["spec"]["externalTrafficPolicy"] == "Local"
        else:
            assert kind == "ClusterIP", name
    assert not of_kind("Ingress")


def test_every_service_selects_pods_and_their_ports():
    deployments = of_kind("Deployment")
    for name, service in of_kind("Service").items():
        selected = [d for d in deployments.values()
                    if service["spec"]["selector"].items()
                    <= d["spec"]["template"]["metadata"]["labels"].items()]
        assert len(selected) == 1, name
        container = selected[0]["spec"]["template"]["spec"]["containers"][0]
        for port in service["spec"]["ports"]:
            _port_number(container, port["targetPort"])


def test_the_autoscaler_scales_rasa_on_cpu():
    hpa = of_kind("HorizontalPodAutoscaler")["rasa"]
    assert hpa["apiVersion"] == "autoscaling/v2"
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", "rasa")
    assert hpa["spec"]["minReplicas"] >= 2 <= hpa["spec"]["maxReplicas"]
    assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]
    rasa = of_kind("Deployment")["rasa"]
    # A replica count in the manifest would undo the autoscaler at every apply.
    assert "replicas" not in rasa["spec"]
    budget = of_kind("PodDisruptionBudget")["rasa"]
    assert budget["spec"]["selector"]["matchLabels"].items() \
        <= rasa["spec"]["template"]["metadata"]["labels"].items()


def test_nothing_runs_as_root_or_may_gain_privileges():
    for where, spec in pod_specs():
        context = spec["securityContext"]
        assert context["runAsNonRoot"] is True and context.get("runAsUser", 0) != 0, where
        assert context["seccompProfile"]["type"] == "RuntimeDefault", where
        assert spec["automountServiceAccountToken"] is False, where
    for where, container in all_containers():
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False, where
        assert context["readOnlyRootFilesystem"] is True, where
        assert context["capabilities"]["drop"] == ["ALL"], where
        assert not context.get("privileged"), where


# -- the edge's nginx configuration -----------------------------------------------------


def test_the_committed_edge_config_is_a_fresh_render():
    committed = (K8S / "edge-nginx.yaml").read_text(encoding="utf-8")
    assert committed == render_edge.manifest(), \
        "deploy/k8s/edge-nginx.yaml is stale: python -m deploy.k8s.render_edge"


def test_the_edge_config_fits_the_edge_pod_and_the_rasa_pods():
    conf = of_kind("ConfigMap")["govbot-edge-nginx"]["data"]["nginx.conf"]
    spec = of_kind("Deployment")["edge"]["spec"]["template"]["spec"]
    container = spec["containers"][0]
    volumes = {v["name"]: v for v in spec["volumes"]}
    mounts = {m["mountPath"]: volumes[m["name"]] for m in container["volumeMounts"]}
    conf_mount = Path(_option(container["command"][-1].split(), "-c")).parent
    assert mounts[str(conf_mount)]["configMap"]["name"] == "govbot-edge-nginx"
    assert mounts[render_edge.ENV["TLS_CERT"].rsplit("/", 1)[0]]["secret"][
        "secretName"] == "govbot-edge-tls"
    assert "emptyDir" in mounts[str(render_edge.PREFIX)]
    assert f"listen {_port_number(container, 'https')} ssl;" in conf
    # Rasa's upstreams follow the headless Service's pods; both name the same port.
    pods = of_kind("Service")["rasa-pods"]
    assert pods["spec"]["clusterIP"] == "None"
    host, port = render_edge.RASA_PODS.rsplit(":", 1)
    assert host.startswith(f"{pods['metadata']['name']}.{pods['metadata']['namespace']}.svc.")
    assert int(port) in [p["port"] for p in pods["spec"]["ports"]]
    servers = re.findall(rf"server {re.escape(render_edge.RASA_PODS)} [^;]*;", conf)
    assert servers and all(s.endswith(" resolve;") for s in servers)
    assert len(re.findall(r"^\s*zone \w+ \d+k;$", conf, flags=re.M)) == len(servers)
    assert re.search(r"^\s*resolver \S+", conf, flags=re.M)
