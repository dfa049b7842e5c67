#!/usr/bin/env bash
# Installs what Tally needs on a fresh Debian machine, and nothing that is already there:
#   - Node >= 22.19: the machine's when new enough, else Node 24 from the npm registry in .tools/
#   - redis-server from Debian's packages, unless REDIS_URL points at a server (pass --need-redis)
#   - Debian's chromium for the dashboard's browser tests (pass --need-browser)
#   - the npm dependencies, when package-lock.json changed since the last install
# Idempotent; `make` calls it before every target that runs code.
set -euo pipefail
cd "$(dirname "$0")/.."

NODE_MIN_MAJOR=22
NODE_MIN_MINOR=19
NODE_PIN="24.21.0"
need_redis=0
need_browser=0
for arg in "$@"; do
  case "$arg" in
    --need-redis) need_redis=1 ;;
    --need-browser) need_browser=1 ;;
    *) echo "bootstrap: unknown option $arg" >&2; exit 2 ;;
  esac
done

node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  local v major minor
  v=$(node -p 'process.versions.node' 2>/dev/null) || return 1
  major=${v%%.*}; minor=${v#*.}; minor=${minor%%.*}
  [ "$major" -gt "$NODE_MIN_MAJOR" ] || { [ "$major" -eq "$NODE_MIN_MAJOR" ] && [ "$minor" -ge "$NODE_MIN_MINOR" ]; }
}

export PATH="$PWD/.tools/node_modules/.bin:$PATH"
if ! node_ok; then
  command -v npm >/dev/null 2>&1 || { echo "bootstrap: npm is needed to install Node $NODE_PIN" >&2; exit 1; }
  echo "bootstrap: Node $(node -v 2>/dev/null || echo none) is older than $NODE_MIN_MAJOR.$NODE_MIN_MINOR; installing Node $NODE_PIN into .tools/" >&2
  mkdir -p .tools
  [ -f .tools/package.json ] || echo '{"private":true}' > .tools/package.json
  npm install --prefix .tools --no-audit --no-fund --loglevel=error "node@$NODE_PIN" >&2
  node_ok || { echo "bootstrap: Node $NODE_PIN did not install into .tools/" >&2; exit 1; }
fi

apt_updated=0
apt_install() { # command package
  command -v "$1" >/dev/null 2>&1 && return 0
  echo "bootstrap: installing $2 from Debian's packages" >&2
  local sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  if [ "$apt_updated" = 0 ]; then $sudo_cmd apt-get update -qq >&2; apt_updated=1; fi
  local log; log=$(mktemp)
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "$2" >"$log" 2>&1 \
    || { cat "$log" >&2; rm -f "$log"; echo "bootstrap: apt-get could not install $2" >&2; exit 1; }
  rm -f "$log"
  command -v "$1" >/dev/null 2>&1 || { echo "bootstrap: $2 did not install $1" >&2; exit 1; }
}
[ "$need_redis" = 1 ] && apt_install redis-server redis-server
# redis-benchmark (Debian's redis-tools; redis-server depends on it) drives the server-bound loads.
[ "$need_redis" = 1 ] && apt_install redis-benchmark redis-tools
[ "$need_browser" = 1 ] && apt_install chromium chromium

# The stamp holds a hash of the manifests it was installed from: a checkout that only touches
# their modification times (git does) must not reinstall.
stamp=node_modules/.tally-installed
manifests_hash=$(cat package.json package-lock.json 2>/dev/null | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$manifests_hash" ]; then
  echo "bootstrap: installing npm dependencies with Node $(node -v)" >&2
  if [ -f package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error >&2
  else
    npm install --no-audit --no-fund --loglevel=error >&2
  fi
  mkdir -p node_modules && echo "$manifests_hash" > "$stamp"
fi
