#!/usr/bin/env bash
# Install the real Prometheus (with promtool) and Alertmanager (with amtool) that the
# tests run as plain processes. Debian/Ubuntu packages; needs root (or sudo).
set -euo pipefail

missing=()
command -v promtool >/dev/null || missing+=(prometheus)
command -v amtool >/dev/null || missing+=(prometheus-alertmanager)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if ! command -v apt-get >/dev/null; then
  echo "install-tools: need ${missing[*]} (promtool/amtool) but apt-get is not available;" >&2
  echo "install Prometheus 2.42+ and Alertmanager 0.25+ yourself and put them on PATH." >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-tools: run as root or install sudo" >&2; exit 1; }
  sudo="sudo"
fi
echo "install-tools: installing ${missing[*]} with apt-get"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The Debian packages enable system services; the tests start their own processes.
for svc in prometheus prometheus-alertmanager prometheus-node-exporter; do
  $sudo service "$svc" stop >/dev/null 2>&1 || true
done
