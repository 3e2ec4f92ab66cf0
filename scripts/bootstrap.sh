#!/usr/bin/env bash
# Set up a fresh machine for Wegwijzer: .venv with CPU torch first (so pip never pulls a CUDA build),
# the project, the materialised embedding model and an index of the shipped corpus.
# Usage: scripts/bootstrap.sh [run|dev]   (dev adds test tools and Debian's chromium)
# Both modes install Debian's Tesseract with its Dutch data, for scanned PDFs.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-run}"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PIP_DISABLE_PIP_VERSION_CHECK=1

if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv with $($PY --version)"
  "$PY" -m venv .venv
fi

extras=""; [ "$mode" = "dev" ] && extras="[dev]"
stamp=".venv/.wegwijzer-installed"
want="$(sha256sum pyproject.toml | cut -c1-16)$extras"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "==> installing CPU torch, then Wegwijzer$extras"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q "torch==2.13.0"
  .venv/bin/pip install -q -e ".$extras"
  echo "$want" > "$stamp"
fi

apt_install() {
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  fi
}

if ! tesseract --list-langs 2>/dev/null | grep -qx nld; then
  echo "==> installing Debian's Tesseract with Dutch language data (OCR of scanned PDFs)"
  apt_install tesseract-ocr tesseract-ocr-nld
fi

if [ "$mode" = "dev" ] && [ ! -x /usr/bin/chromium ]; then
  echo "==> installing Debian's chromium for the browser tests"
  apt_install chromium
fi

if [ "$mode" = "dev" ] && [ ! -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ]; then
  echo "==> installing an emoji font, so the browser tests' screenshots show 👍 and 👎"
  apt_install fonts-noto-color-emoji || echo "    (no emoji font: the tests pass, only screenshots show boxes for 👍/👎)"
fi

if [ "$mode" = "dev" ]; then
  # The sign-in tests run against a real OpenID provider (panva's oidc-provider, tests/oidc/); npm ci installs
  # exactly the locked versions, and only when package-lock.json changed (npm's own cache keeps the tarballs).
  lock="tests/oidc/package-lock.json"
  if [ "$(cat tests/oidc/node_modules/.wegwijzer-lock 2>/dev/null)" != "$(sha256sum "$lock" | cut -c1-16)" ]; then
    command -v npm >/dev/null 2>&1 || { echo "Node.js 20+ with npm is needed for the sign-in tests" >&2; exit 1; }
    echo "==> installing the test OpenID provider (npm ci in tests/oidc)"
    (cd tests/oidc && npm ci --no-audit --no-fund --prefer-offline --loglevel=error)
    sha256sum "$lock" | cut -c1-16 > tests/oidc/node_modules/.wegwijzer-lock
  fi
fi

echo "==> materialising the embedding model"
.venv/bin/wegwijzer setup
echo "==> indexing the shipped corpus"
.venv/bin/wegwijzer ingest --quiet
