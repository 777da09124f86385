#!/usr/bin/env bash
# Checks the deployment files without a cluster or a container engine, as CI runs them:
#  - every Kustomize overlay renders (kubectl kustomize) and its manifests are valid
#    against the Kubernetes API schemas, offline (kubernetes-validate, strict);
#  - checkov scans the rendered manifests and the Containerfile: nothing may fail but
#    the checks deploy/check/checkov.yaml skips, each with its reason;
#  - compose.yaml is valid against the Compose specification (dclint);
#  - haproxy accepts its configuration (haproxy -c).
# The Python and Node tools are installed on first use under KOTOHUB_TOOLS_DIR.
set -euo pipefail
cd "$(dirname "$0")"
tools="${KOTOHUB_TOOLS_DIR:-/var/cache/kotohub-tools}"
mkdir -p "$tools"

command -v kubectl >/dev/null || { echo "kubectl (with kustomize) is needed: apt-get install kubectl" >&2; exit 1; }
if [ ! -x "$tools/venv/bin/checkov" ] || ! cmp -s check/requirements.txt "$tools/venv/requirements.txt"; then
  rm -rf "$tools/venv"
  python3 -m venv "$tools/venv"
  "$tools/venv/bin/pip" install --quiet --disable-pip-version-check -r check/requirements.txt
  cp check/requirements.txt "$tools/venv/requirements.txt"
fi
(cd check && npm ci --no-audit --no-fund --loglevel=error >/dev/null)

rendered="$(mktemp -d)"
trap 'rm -rf "$rendered"' EXIT
for overlay in k8s/overlays/*/; do
  name="$(basename "$overlay")"
  kubectl kustomize "$overlay" > "$rendered/$name.yaml"
  "$tools/venv/bin/kubernetes-validate" --strict --quiet "$rendered/$name.yaml"
  echo "k8s/overlays/$name: $(grep -c '^kind:' "$rendered/$name.yaml") objects, valid"
done
# checkov names Dockerfiles by their file name only.
mkdir "$rendered/image" && cp Containerfile "$rendered/image/Dockerfile"
# checkov asks a web service for its guidelines and, offline, says so on stderr.
"$tools/venv/bin/checkov" --config-file check/checkov.yaml --framework kubernetes \
  $(for f in "$rendered"/*.yaml; do echo "-f $f"; done) 2>/dev/null
"$tools/venv/bin/checkov" --config-file check/checkov.yaml --framework dockerfile \
  -f "$rendered/image/Dockerfile" 2>/dev/null
echo "checkov: no finding"
(cd check && npx --no-install dclint -q ../compose.yaml)
echo "compose.yaml: valid"
KOTOHUB_LB_BIND=127.0.0.1:8080 KOTOHUB_LB_SOURCE=127.0.0.1 KOTOHUB_GATEWAY_1=127.0.0.1:4001 \
  KOTOHUB_GATEWAY_2=127.0.0.1:4002 KOTOHUB_GATEWAY_3=127.0.0.1:4003 \
  haproxy -c -q -f haproxy/haproxy.cfg
echo "haproxy/haproxy.cfg: valid"
