#!/usr/bin/env bash
# The production topology on one machine (`make run-cluster`; docs/cluster.md):
#   nginx edge            :EDGE_PORT (8080)  the only public port; balances Rasa
#   Rasa servers          RASA_INSTANCES (2) on :5005, :5006, …   sharing conversations
#   action servers        ACTION_INSTANCES (2) on :5055, :5056, … behind nginx (:5054)
#   web app, backend      :8800, :8700
#   stats consumer        :8790  the supervisor's counters from Rasa's event stream
#   PostgreSQL (tracker store, handoffs), Redis (locks, socket.io rooms, shared state),
#   RabbitMQ (Rasa's event broker): this machine's, started when they are down and
#   installed from Debian's packages when they are missing.
# Ctrl-C stops every part it started (not the machine's PostgreSQL, Redis or RabbitMQ).
# A development start like `make run` (GOVBOT_ENV=development unless set otherwise).
set -euo pipefail
cd "$(dirname "$0")/.."

export RASA_INSTANCES=${RASA_INSTANCES:-2} ACTION_INSTANCES=${ACTION_INSTANCES:-2}
export EDGE_PORT=${EDGE_PORT:-8080}
export DATABASE_URL=${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/govbot}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
export RABBITMQ_URL=${RABBITMQ_URL:-amqp://guest:guest@127.0.0.1:5672/%2F}

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
host_port() {  # host and port of a URL (python: no parsing of our own)
  python3 -c 'import sys; from urllib.parse import urlparse; u = urlparse(sys.argv[1]); print(u.hostname or "127.0.0.1", u.port or sys.argv[2])' "$1" "$2"
}
apt_install() {
  echo "installing Debian's $* for the cluster"
  apt-get install -y -q "$@" >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q "$@" >/dev/null; }
}
wait_for() {  # port, name
  for _ in $(seq 60); do listening "$1" && return 0; sleep 1; done
  echo "$2 did not start on :$1" >&2; exit 1
}

command -v nginx >/dev/null || apt_install nginx

read -r pg_host pg_port < <(host_port "$DATABASE_URL" 5432)
if [ "$pg_host" = 127.0.0.1 ] || [ "$pg_host" = localhost ]; then
  if ! listening "$pg_port"; then
    command -v pg_ctlcluster >/dev/null || apt_install postgresql
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | tail -1)" main start || true
    wait_for "$pg_port" PostgreSQL
  fi
  db=$(python3 -c 'import sys; from urllib.parse import urlparse; print(urlparse(sys.argv[1]).path.lstrip("/"))' "$DATABASE_URL")
  psql "${DATABASE_URL%/*}/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1 \
    || psql "${DATABASE_URL%/*}/postgres" -qc "CREATE DATABASE \"$db\""
fi

read -r redis_host redis_port < <(host_port "$REDIS_URL" 6379)
if { [ "$redis_host" = 127.0.0.1 ] || [ "$redis_host" = localhost ]; } && ! listening "$redis_port"; then
  command -v redis-server >/dev/null || apt_install redis-server
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$redis_port" --save "" --appendonly no
  wait_for "$redis_port" Redis
fi

read -r mq_host mq_port < <(host_port "$RABBITMQ_URL" 5672)
if { [ "$mq_host" = 127.0.0.1 ] || [ "$mq_host" = localhost ]; } && ! listening "$mq_port"; then
  command -v rabbitmq-server >/dev/null || apt_install rabbitmq-server
  rabbitmq-server -detached
  wait_for "$mq_port" RabbitMQ
fi

exec scripts/run.sh
