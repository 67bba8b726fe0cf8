#!/usr/bin/env bash
# Start the llm-obs-stack with Docker Compose, wait until every service is healthy, then
# print where to look. Used by `make up`; safe to run again (compose only recreates what
# changed).
#
#   bash scripts/up.sh            # build the demo image, start, wait (up to WAIT_TIMEOUT s)
#   WAIT_TIMEOUT=600 bash scripts/up.sh
set -euo pipefail
cd "$(dirname "$0")/.."

COMPOSE=${COMPOSE:-docker compose}
WAIT_TIMEOUT=${WAIT_TIMEOUT:-300}

# No Docker, no Compose v2 or no engine: one line saying which, and the native-mode commands.
COMPOSE="$COMPOSE" bash scripts/need-docker.sh up || exit 1

# Read the published ports from .env (the same file compose reads).
env_value() {
  local value
  value=$(grep -E "^$1=" .env | tail -n 1 | cut -d= -f2-)
  printf '%s' "${value:-$2}"
}

wait_by_polling() {
  # Fallback for compose versions without `up --wait`: poll every container until each one
  # is healthy (or, for the one-shot tempo-init and tracker-init jobs, has exited).
  local deadline=$((SECONDS + WAIT_TIMEOUT)) states pending service state health
  while true; do
    states=$($COMPOSE ps --all --format '{{.Service}} {{.State}} {{.Health}}')
    pending=0
    while read -r service state health; do
      [[ -z "$service" ]] && continue
      if [[ ( "$service" == tempo-init || "$service" == tracker-init ) && "$state" == exited ]]; then continue; fi
      [[ "$health" == healthy ]] || pending=$((pending + 1))
    done <<<"$states"
    ((pending == 0)) && return 0
    if ((SECONDS >= deadline)); then
      echo "Timed out after ${WAIT_TIMEOUT}s waiting for healthy services:" >&2
      echo "$states" >&2
      return 1
    fi
    sleep 3
  done
}

# The error tracker has no default admin password or secret key: say so before compose fails on it.
if [[ -z "$(env_value BUGSINK_ADMIN_PASSWORD '')" || -z "$(env_value BUGSINK_SECRET_KEY '')" ]]; then
  echo "NOTE: the error tracker (Bugsink) will refuse to start: set BUGSINK_ADMIN_PASSWORD and BUGSINK_SECRET_KEY in .env" >&2
  echo "      (tracker-init exits with the reason; every other service starts without it)." >&2
fi

echo "Building and starting llm-obs-stack (first run pulls images and builds the demo image)..."
up_help=$($COMPOSE up --help 2>/dev/null || true)
if grep -q -- '--wait' <<<"$up_help"; then
  wait_args=(--wait)
  # --wait-timeout came later than --wait (Compose 2.17); without it compose waits as long as it takes.
  if grep -q -- '--wait-timeout' <<<"$up_help"; then wait_args+=(--wait-timeout "$WAIT_TIMEOUT"); fi
  if ! $COMPOSE up -d --build "${wait_args[@]}"; then
    echo >&2
    echo "Some services did not become healthy. Status and recent logs:" >&2
    $COMPOSE ps --all >&2 || true
    echo "Inspect one with: make logs S=<service>" >&2
    exit 1
  fi
else
  $COMPOSE up -d --build
  wait_by_polling
fi

grafana="http://127.0.0.1:$(env_value GRAFANA_PORT 3000)"
cat <<TXT

llm-obs-stack is up.

  Grafana        $grafana   (anonymous viewer; admin password: GF_ADMIN_PASSWORD in .env)
  Prometheus     http://127.0.0.1:$(env_value PROMETHEUS_PORT 9090)
  Alertmanager   http://127.0.0.1:$(env_value ALERTMANAGER_PORT 9093)
  Demo app       http://127.0.0.1:$(env_value APP_PORT 8000)   (POST /v1/ask, /v1/agent)
  LLM simulator  http://127.0.0.1:$(env_value LLM_SIM_PORT 8081)   (OpenAI-compatible, /v1/chat/completions)
  Alert receiver http://127.0.0.1:$(env_value ALERT_SINK_PORT 8082)/alerts
  Error tracker  http://127.0.0.1:$(env_value BUGSINK_PORT 8083)   (Bugsink; login BUGSINK_ADMIN_EMAIL / BUGSINK_ADMIN_PASSWORD in .env)
  Loki / Tempo   http://127.0.0.1:$(env_value LOKI_PORT 3100) / http://127.0.0.1:$(env_value TEMPO_PORT 3200)   (OTLP in: 127.0.0.1:4317 gRPC, :4318 HTTP)

Dashboards (folder "LLM"):
  LLM overview        $grafana/d/llm-overview
  Cost and tokens     $grafana/d/llm-cost
  RAG and quality     $grafana/d/llm-rag-quality
  Agents and tools    $grafana/d/llm-agents
  SLOs and budget     $grafana/d/llm-slo
  Stack health        $grafana/d/llm-stack-health

Background traffic runs at 1 request/s. Inject a failure: make load SCENARIO=<name> (make load lists them).
Stop: make down (keeps data)   Delete data: make clean
TXT
