#!/usr/bin/env bash
# Starts the whole assistant in the foreground; Ctrl-C stops every part.
#   stand-in government backend :BACKEND_PORT (8700)
#   action server               :ACTION_PORT  (5055)  answers only Rasa (ACTION_SERVER_TOKEN)
#   web app (API, widget, desk) :WEB_PORT     (8800)
#   Rasa server                 :RASA_PORT    (5005)  API behind RASA_API_TOKEN
# Every part listens on BIND_HOST (127.0.0.1): an edge proxy is what the public reaches.
#
# Several of each (scripts/run-cluster.sh, `make run-cluster`): RASA_INSTANCES Rasa servers
# on RASA_PORT, RASA_PORT+1, … and ACTION_INSTANCES action servers on ACTION_PORT, +1, …,
# with Debian's nginx as the edge on EDGE_PORT (deploy/nginx/), which also balances the
# desk's calls to Rasa (127.0.0.1:RASA_INTERNAL_PORT) and Rasa's calls to the action
# servers (127.0.0.1:ACTION_INTERNAL_PORT). Setting EDGE_PORT alone puts the edge in front
# of one of each.
#
# This is a development start (GOVBOT_ENV=development unless set otherwise): the REST
# channel and /model/parse answer without a credential, the desk gets development
# accounts, and credentials that are not set come from $BOT_VAR_DIR/dev-secrets.env
# (random, made once per machine). With GOVBOT_ENV=production every credential must be
# set and none of this happens.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export RASA_PORT=${RASA_PORT:-5005} ACTION_PORT=${ACTION_PORT:-5055}
export WEB_PORT=${WEB_PORT:-8800} BACKEND_PORT=${BACKEND_PORT:-8700}
export GOVBOT_ENV=${GOVBOT_ENV:-development} BIND_HOST=${BIND_HOST:-127.0.0.1}
export BOT_VAR_DIR=${BOT_VAR_DIR:-var}
export SQLALCHEMY_SILENCE_UBER_WARNING=1 TF_CPP_MIN_LOG_LEVEL=3
export RASA_TELEMETRY_ENABLED=false  # no telemetry or error reports leave the machine
export MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-2} TF_INTRA_OP_PARALLELISM_THREADS=${TF_INTRA_OP_PARALLELISM_THREADS:-1} TF_INTER_OP_PARALLELISM_THREADS=${TF_INTER_OP_PARALLELISM_THREADS:-1}
MODEL=${MODEL:-models/govbot.tar.gz}
mkdir -p "$BOT_VAR_DIR"

DEV_SECRETS="RASA_API_TOKEN ACTION_SERVER_TOKEN HANDOFF_SERVICE_TOKEN BACKEND_SERVICE_TOKEN WIDGET_SESSION_SECRET SEAL_KEY METRICS_TOKEN"
if [ "$GOVBOT_ENV" = development ]; then
  secrets_file="$BOT_VAR_DIR/dev-secrets.env"
  (umask 077; touch "$secrets_file")
  for name in $DEV_SECRETS; do
    grep -q "^$name=" "$secrets_file" || $PY -c 'import base64, secrets, sys
value = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()  # also a Fernet key
print(f"{sys.argv[1]}={value}")' "$name" >> "$secrets_file"
  done
  while read -r line; do  # what the environment sets wins
    name=${line%%=*}
    [ -n "$name" ] && [ -z "${!name:-}" ] && export "$name=${line#*=}"
  done < "$secrets_file"
  export BACKEND_SERVICE_TOKENS=${BACKEND_SERVICE_TOKENS:-$BACKEND_SERVICE_TOKEN}
  export DESK_DEV_ACCOUNTS=${DESK_DEV_ACCOUNTS:-1}
fi

RASA_INSTANCES=${RASA_INSTANCES:-1} ACTION_INSTANCES=${ACTION_INSTANCES:-1}
rasa_ports=() action_ports=()
for ((i = 0; i < RASA_INSTANCES; i++)); do rasa_ports+=($((RASA_PORT + i))); done
for ((i = 0; i < ACTION_INSTANCES; i++)); do action_ports+=($((ACTION_PORT + i))); done
upstreams() { local out=() port; for port in "$@"; do out+=("127.0.0.1:$port"); done; echo "${out[*]}"; }
edge=${EDGE_PORT:-}
if [ "$RASA_INSTANCES" -gt 1 ] && { [ -z "${REDIS_URL:-}" ] || [[ "${TRACKER_DATABASE_URL:-${DATABASE_URL:-}}" != postgres* ]]; }; then
  echo "several Rasa instances share conversations through PostgreSQL (DATABASE_URL) and" \
       "Redis (REDIS_URL); set both, or use make run-cluster, which does" >&2
  exit 2
fi
if [ "$RASA_INSTANCES" -gt 1 ] || [ "$ACTION_INSTANCES" -gt 1 ]; then edge=${edge:-8080}; fi
if [ -n "$edge" ]; then
  export EDGE_PORT=$edge RASA_INTERNAL_PORT=${RASA_INTERNAL_PORT:-5004}
  export ACTION_INTERNAL_PORT=${ACTION_INTERNAL_PORT:-5054}
  export RASA_UPSTREAMS=$(upstreams "${rasa_ports[@]}") ACTION_UPSTREAMS=$(upstreams "${action_ports[@]}")
  export WEB_UPSTREAMS=127.0.0.1:$WEB_PORT
  # The parts reach each other through the balancers; citizens and agents through the edge.
  export RASA_URL=${RASA_URL:-http://127.0.0.1:$RASA_INTERNAL_PORT}
  export RASA_URLS=${RASA_URLS:-$(for p in "${rasa_ports[@]}"; do printf 'http://127.0.0.1:%s,' "$p"; done)}
  export ACTION_ENDPOINT_URL=${ACTION_ENDPOINT_URL:-http://127.0.0.1:$ACTION_INTERNAL_PORT/webhook}
  export RASA_PUBLIC_URL=${RASA_PUBLIC_URL:-http://127.0.0.1:$EDGE_PORT}
  export PUBLIC_BASE_URL=${PUBLIC_BASE_URL:-http://127.0.0.1:$EDGE_PORT}
  export TRUSTED_PROXIES=${TRUSTED_PROXIES:-127.0.0.1}
  if [ "$GOVBOT_ENV" = development ]; then
    export CORS_ORIGINS=${CORS_ORIGINS:-http://127.0.0.1:$EDGE_PORT http://localhost:$EDGE_PORT http://127.0.0.1:$WEB_PORT}
  fi
  command -v nginx >/dev/null || { echo "nginx is missing: apt-get install nginx (make run-cluster does)" >&2; exit 1; }
  edge_dir=$(cd "$BOT_VAR_DIR" && pwd)/edge
  $PY -m deploy.nginx.render "$edge_dir"
  nginx -t -q -p "$edge_dir" -c "$edge_dir/nginx.conf" 2>/dev/null \
    || nginx -t -p "$edge_dir" -c "$edge_dir/nginx.conf"
fi

$PY -m bot.catalog import "${CATALOG_DIR:-data/catalog}"
$PY -m rasa_ext.endpoints "$BOT_VAR_DIR/endpoints.yml"

pids=()
stop() {
  trap - INT TERM EXIT
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

$PY -m standins.gov_backend.app --host "$BIND_HOST" --port "$BACKEND_PORT" & pids+=($!)
for port in "${action_ports[@]}"; do
  $PY -m actions.server --host "$BIND_HOST" --port "$port" & pids+=($!)
done
$PY -m web.app --host "$BIND_HOST" --port "$WEB_PORT" & pids+=($!)
# Behind the edge, a Rasa instance that exits is started again (as an orchestrator would)
# while nginx routes around it; a single instance ends the run instead (`wait -n` below).
supervised() {
  local child=
  # a Rasa still loading its model handles TERM only when the load is done: 5 s, then KILL
  trap '[ -z "$child" ] || { kill "$child" 2>/dev/null
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$child" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$child" 2>/dev/null; }; exit 0' TERM
  while true; do
    "$@" & child=$!
    wait "$child" || true
    echo "Rasa :$port exited; starting it again" >&2  # port: the loop variable at fork
    sleep 2
  done
}
for port in "${rasa_ports[@]}"; do
  rasa=($PY -m rasa_ext.server run --enable-api --interface "$BIND_HOST" --port "$port"
        --model "$MODEL" --endpoints "$BOT_VAR_DIR/endpoints.yml" --credentials credentials.yml)
  if [ -n "$edge" ]; then supervised "${rasa[@]}" & pids+=($!); else "${rasa[@]}" & pids+=($!); fi
done
if [ -n "${RABBITMQ_URL:-}" ]; then  # the statistics from Rasa's event stream (docs/events.md)
  $PY -m bot.stats.consumer & pids+=($!)
fi
if [ -n "$edge" ]; then
  nginx -p "$edge_dir" -c "$edge_dir/nginx.conf" -g 'daemon off;' & pids+=($!)
fi

echo "assistant starting on $BIND_HOST: Rasa :${rasa_ports[*]}  web :$WEB_PORT  actions :${action_ports[*]}  backend :$BACKEND_PORT"
[ -z "$edge" ] || echo "edge (nginx): http://127.0.0.1:$EDGE_PORT  (Rasa API inside: :$RASA_INTERNAL_PORT, actions inside: :$ACTION_INTERNAL_PORT)"
if [ "$GOVBOT_ENV" = development ]; then
  echo "DEVELOPMENT start (GOVBOT_ENV=development), not for production: the REST channel and" \
       "/model/parse answer without a credential; desk accounts agent1/agent1-pass," \
       "agent2/agent2-pass, supervisor1/supervisor1-pass; credentials from $BOT_VAR_DIR/dev-secrets.env" \
       "(Rasa API: Authorization: Bearer \$RASA_API_TOKEN)"
fi
# Whichever part exits first ends the run, so a crash is never hidden.
wait -n
