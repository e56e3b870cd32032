#!/usr/bin/env bash
# Starts the whole assistant in the foreground; Ctrl-C stops every part.
#   stand-in government backend :BACKEND_PORT (8700)
#   action server               :ACTION_PORT  (5055)  answers only Rasa (ACTION_SERVER_TOKEN)
#   web app (API, widget, desk) :WEB_PORT     (8800)
#   Rasa server                 :RASA_PORT    (5005)  API behind RASA_API_TOKEN
# Every part listens on BIND_HOST (127.0.0.1): an edge proxy is what the public reaches.
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

DEV_SECRETS="RASA_API_TOKEN ACTION_SERVER_TOKEN HANDOFF_SERVICE_TOKEN BACKEND_SERVICE_TOKEN WIDGET_SESSION_SECRET SEAL_KEY"
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
$PY -m actions.server --host "$BIND_HOST" --port "$ACTION_PORT" & pids+=($!)
$PY -m web.app --host "$BIND_HOST" --port "$WEB_PORT" & pids+=($!)
$PY -m rasa_ext.server run --enable-api --interface "$BIND_HOST" --port "$RASA_PORT" \
  --model "$MODEL" --endpoints "$BOT_VAR_DIR/endpoints.yml" --credentials credentials.yml & pids+=($!)

echo "assistant starting on $BIND_HOST: Rasa :$RASA_PORT  web :$WEB_PORT  actions :$ACTION_PORT  backend :$BACKEND_PORT"
if [ "$GOVBOT_ENV" = development ]; then
  echo "DEVELOPMENT start (GOVBOT_ENV=development), not for production: the REST channel and" \
       "/model/parse answer without a credential; desk accounts agent1/agent1-pass," \
       "agent2/agent2-pass, supervisor1/supervisor1-pass; credentials from $BOT_VAR_DIR/dev-secrets.env" \
       "(Rasa API: Authorization: Bearer \$RASA_API_TOKEN)"
fi
# Whichever part exits first ends the run, so a crash is never hidden.
wait -n
