#!/usr/bin/env bash
# Check that the Docker stack can run here: `docker` on PATH, Compose v2 (`docker compose`)
# and a reachable engine. Prints ONE line saying what is missing and how to run the stack
# without Docker (native mode), and exits 1; silent and 0 when all is there.
# Used by `make up/down/logs/ps/clean/load` and scripts/up.sh.
#
#   bash scripts/need-docker.sh up       # the argument names the make target in the message
#   COMPOSE=podman-compose bash scripts/need-docker.sh up
#
# With COMPOSE set to anything but `docker compose`, only checks that its command exists:
# you chose the tool, so its own errors say the rest.
set -uo pipefail

target=${1:-up}
COMPOSE=${COMPOSE:-docker compose}
NATIVE_HINT="Without Docker use native mode: make native-up, then make load-native SCENARIO=<name>."

fail() {
  echo "make $target: $1. $NATIVE_HINT" >&2
  exit 1
}

if [[ "$COMPOSE" != "docker compose" ]]; then
  command -v "${COMPOSE%% *}" >/dev/null 2>&1 || fail "COMPOSE=$COMPOSE but \`${COMPOSE%% *}\` is not on PATH"
  exit 0
fi

command -v docker >/dev/null 2>&1 || fail "Docker is not installed (no \`docker\` on PATH; the stack needs Docker with Compose v2)"

# Run with a time limit where `timeout` exists: a wedged engine must not hang `make`.
limited() {
  if command -v timeout >/dev/null 2>&1; then timeout 15 "$@"; else "$@"; fi
}

missing=()
limited docker compose version >/dev/null 2>&1 || missing+=("Docker Compose v2 (\`docker compose version\` failed)")
if ! engine_err=$(limited docker info 2>&1 >/dev/null); then
  reason=$(grep -m 1 -v '^[[:space:]]*$' <<<"$engine_err" | tr -s '[:space:]' ' ' | sed 's/ *$//')
  missing+=("a reachable Docker engine (\`docker info\` failed${reason:+: $reason})")
fi
((${#missing[@]} == 0)) && exit 0

if ((${#missing[@]} == 1)); then
  fail "missing ${missing[0]}"
fi
fail "missing ${missing[0]} and ${missing[1]}"
