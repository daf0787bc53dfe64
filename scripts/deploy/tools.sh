#!/usr/bin/env bash
# Builds the tools the deployment checks (test/real-engines/deploy.test.ts) run, from the registries
# this machine reaches, into a cache folder kept between checkouts ($XDG_CACHE_HOME/chat-deploy-tools,
# one folder per tool and version, as scripts/services keeps its engines), and writes their paths to
# .ci/deploy-tools/env (a clean clone builds them once per machine, not once per clone):
#   composecheck  compose-go (what docker compose loads files with), from the Go module proxy
#   helm          Helm 3, from the Go module proxy
#   promtool      Prometheus' rule checker and rule unit tests, from the Go module proxy
#   kubernetes-validate  the Kubernetes OpenAPI schemas per version, from PyPI, in a venv
#   systemd-analyze  Debian's systemd, for the unit example
# and the third-party peers the services suite talks to chatd through:
#   haproxy          Debian's HAProxy, running deploy/haproxy/chatd.cfg (test/real-engines/proxy.test.ts)
#   python-socketio  from PyPI, in the same venv, running examples/echo_bot.py (test/real-engines/python-bot.test.ts)
#   openapi-python-client  from PyPI, in a venv of its own, generating a Python client from chatd's
#                    OpenAPI document (test/real-engines/python-client.test.ts)
set -euo pipefail
cd "$(dirname "$0")/../.."
out="$PWD/.ci/deploy-tools"
mkdir -p "$out"
HELM_VERSION=v3.22.0
PROMETHEUS_VERSION=v0.316.0
KUBERNETES_VALIDATE_VERSION=1.37.0
PYTHON_SOCKETIO_VERSION=5.11.0
OPENAPI_PYTHON_CLIENT_VERSION=0.29.1
cache="${CHAT_DEPLOY_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/chat-deploy-tools}"
# composecheck is this repository's code: its folder is named by a hash of its sources.
compose_src="$(cat scripts/deploy/composecheck/go.mod scripts/deploy/composecheck/go.sum scripts/deploy/composecheck/main.go | sha256sum | cut -c1-16)"
composecheck="$cache/composecheck-$compose_src/composecheck"
helm="$cache/helm-$HELM_VERSION/helm"
promtool="$cache/promtool-$PROMETHEUS_VERSION/promtool"
venv="$cache/venv-kv$KUBERNETES_VALIDATE_VERSION-sio$PYTHON_SOCKETIO_VERSION"
opc_venv="$cache/venv-opc$OPENAPI_PYTHON_CLIENT_VERSION"

if [ ! -x "$composecheck" ]; then
  echo "building composecheck (compose-go)" >&2
  mkdir -p "$(dirname "$composecheck")"
  (cd scripts/deploy/composecheck && go build -o "$composecheck.tmp" .) && mv "$composecheck.tmp" "$composecheck"
fi
if [ ! -x "$helm" ] || ! "$helm" version --short 2>/dev/null | grep -q "^${HELM_VERSION%.*}"; then
  echo "building helm $HELM_VERSION" >&2
  mkdir -p "$(dirname "$helm")"
  GOBIN="$(dirname "$helm")" go install -ldflags "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
fi
if [ ! -x "$promtool" ]; then
  echo "building promtool (prometheus $PROMETHEUS_VERSION)" >&2
  mkdir -p "$(dirname "$promtool")"
  GOBIN="$(dirname "$promtool")" go install "github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_VERSION"
fi
if [ ! -x "$venv/bin/kubernetes-validate" ]; then
  echo "installing kubernetes-validate $KUBERNETES_VALIDATE_VERSION" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
fi
if ! "$venv/bin/python" -c 'import socketio, requests, websocket' 2>/dev/null; then
  echo "installing python-socketio $PYTHON_SOCKETIO_VERSION with its client extras" >&2
  "$venv/bin/pip" install -q "python-socketio[client]==$PYTHON_SOCKETIO_VERSION"
fi
# The generator, and what the client it generates imports (httpx and attrs come with it; dateutil
# parses its date-times).
if ! "$opc_venv/bin/python" -c 'import openapi_python_client, httpx, attrs, dateutil' 2>/dev/null; then
  echo "installing openapi-python-client $OPENAPI_PYTHON_CLIENT_VERSION" >&2
  rm -rf "$opc_venv"
  python3 -m venv "$opc_venv"
  "$opc_venv/bin/pip" install -q "openapi-python-client==$OPENAPI_PYTHON_CLIENT_VERSION" python-dateutil
fi
haproxy="$(command -v haproxy || true)"
if [ -z "$haproxy" ]; then
  echo "installing haproxy (Debian)" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null
  haproxy="$(command -v haproxy)"
fi
systemd_analyze="$(command -v systemd-analyze || true)"
if [ -z "$systemd_analyze" ]; then
  echo "installing systemd (for systemd-analyze verify)" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd >/dev/null
  systemd_analyze="$(command -v systemd-analyze)"
fi
cat >"$out/env" <<ENV
export COMPOSECHECK=$composecheck
export HELM=$helm
export KUBERNETES_VALIDATE=$venv/bin/kubernetes-validate
export SYSTEMD_ANALYZE=$systemd_analyze
export PROMTOOL=$promtool
export HAPROXY=$haproxy
export CHAT_PYTHON=$venv/bin/python
export OPENAPI_PYTHON_CLIENT=$opc_venv/bin/openapi-python-client
ENV
cat "$out/env"
