# Sourced by scripts/run and scripts/test: make .venv with Python 3.11 and install Convix into it.
# Usage: install_convix [extra]   (extra: "dev" for the test tools)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${CONVIX_VENV:-$ROOT/.venv}"

find_python() {
  for candidate in python3.11 python3 python; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  echo "Convix needs Python 3.11 (python3.11 was not found on PATH)." >&2
  return 1
}

install_convix() {
  local extra="${1:-}"
  local python
  python="$(find_python)"
  if [ ! -x "$VENV/bin/python" ]; then
    echo "==> Creating $VENV"
    "$python" -m venv "$VENV"
  fi
  local target="."
  [ -n "$extra" ] && target=".[$extra]"
  local stamp="$VENV/.convix-installed-${extra:-base}"
  # Reinstall only when the dependency declarations changed since the last install.
  if [ ! -f "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ] || [ "$ROOT/requirements.lock" -nt "$stamp" ]; then
    echo "==> Installing Convix and its dependencies (pinned by requirements.lock)"
    (cd "$ROOT" && "$VENV/bin/python" -m pip install --quiet --upgrade pip &&
      "$VENV/bin/python" -m pip install --quiet -c requirements.lock -e "$target")
    touch "$stamp"
  fi
  install_assets
}

# The dashboard's front-end libraries (htmx, Chart.js) come from the npm registry, pinned by
# package-lock.json, and are served as static files from node_modules/.
install_assets() {
  local stamp="$ROOT/node_modules/.convix-installed"
  if [ -f "$stamp" ] && [ ! "$ROOT/package-lock.json" -nt "$stamp" ]; then
    return 0
  fi
  if ! command -v npm >/dev/null 2>&1; then
    echo "WARNING: npm not found; the dashboard's charts and live updates need Node.js and npm." >&2
    return 0
  fi
  echo "==> Installing the dashboard's front-end libraries (npm ci)"
  (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  touch "$stamp"
}
