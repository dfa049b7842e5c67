#!/usr/bin/env bash
# `make run`: serve Tally on this machine (the Makefile runs scripts/bootstrap.sh first).
#   - REDIS_URL / REDIS_CLUSTER_URLS unset: start a local redis-server on 127.0.0.1:6379 (the
#     next free port when that one is taken) with its data under data/redis, persisted with AOF:
#     appendonly yes, appendfsync $REDIS_APPENDFSYNC (default everysec). everysec: a crash of
#     redis-server loses nothing acknowledged, a crash of the machine up to about two seconds of
#     acknowledged writes; always: nothing acknowledged either way, at the cost of an fsync before
#     each batch of replies (README, Durability). It stops when this exits.
#   - applies pending migrations (npm run migrate): loads the ledger Redis Functions library.
#   - no JWT_SECRET / JWT_PUBLIC_KEY / JWT_JWKS_URL: uses a dev HS256 secret kept in
#     data/dev-jwt-secret (generated once) and prints how to mint a token with it.
#   - the server (what `npm start` runs, without npm's extra shell in between so that signals
#     reach it); Ctrl-C stops it gracefully, then redis-server.
set -euo pipefail
cd "$(dirname "$0")/.."

DATA_DIR="${DATA_DIR:-./data}"
export DATA_DIR
mkdir -p "$DATA_DIR"

redis_pid=""
cleanup() {
  local status=$?
  if [ -n "$redis_pid" ] && kill -0 "$redis_pid" 2>/dev/null; then
    echo "run: stopping the local redis-server (pid $redis_pid)" >&2
    kill -TERM "$redis_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$redis_pid" 2>/dev/null || break; sleep 0.1; done
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start_local_redis() {
  command -v redis-server >/dev/null 2>&1 || { echo "run: redis-server is not installed (make run installs it; or set REDIS_URL)" >&2; exit 1; }
  local port=6379
  while port_in_use "$port"; do
    port=$((port + 1))
    [ "$port" -le 6479 ] || { echo "run: no free port in 6379..6479 for redis-server" >&2; exit 1; }
  done
  local appendfsync="${REDIS_APPENDFSYNC:-everysec}"
  case "$appendfsync" in
    always|everysec) ;;
    *) echo "run: REDIS_APPENDFSYNC must be always or everysec, not '$appendfsync'" >&2; exit 2 ;;
  esac
  local dir="$DATA_DIR/redis"
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)" # absolute: redis-server resolves --logfile after changing to --dir
  # After a crash the AOF may end inside one function call's MULTI/EXEC block. Redis 7.0 trims
  # only the broken last command and would later replay the rest of that call mid-history;
  # redis-check-aof --fix trims back to before the block (see README, Durability and faults).
  local manifest="$dir/appendonlydir/appendonly.aof.manifest"
  if [ -f "$manifest" ] && ! echo y | redis-check-aof --fix "$manifest" >"$dir/check-aof.log" 2>&1; then
    echo "run: redis-check-aof --fix $manifest failed; see $dir/check-aof.log" >&2; exit 1
  fi
  redis-server --port "$port" --bind 127.0.0.1 --protected-mode yes --dir "$dir" \
    --appendonly yes --appendfsync "$appendfsync" --save '' --daemonize no \
    --logfile "$dir/redis.log" &
  redis_pid=$!
  for _ in $(seq 1 100); do
    if [ "$(redis-cli -p "$port" ping 2>/dev/null)" = "PONG" ]; then break; fi
    kill -0 "$redis_pid" 2>/dev/null || { echo "run: redis-server failed to start; see $dir/redis.log" >&2; exit 1; }
    sleep 0.1
  done
  export REDIS_URL="redis://127.0.0.1:$port"
  echo "run: started redis-server (AOF, appendfsync $appendfsync) on $REDIS_URL, data in $dir" >&2
}

if [ -z "${REDIS_URL:-}" ] && [ -z "${REDIS_CLUSTER_URLS:-}" ]; then
  start_local_redis
fi

npm run --silent migrate

if [ -z "${JWT_SECRET:-}" ] && [ -z "${JWT_PUBLIC_KEY:-}" ] && [ -z "${JWT_JWKS_URL:-}" ]; then
  secret_file="$DATA_DIR/dev-jwt-secret"
  if [ ! -s "$secret_file" ]; then
    (umask 077 && node -e 'process.stdout.write(require("node:crypto").randomBytes(32).toString("hex"))' > "$secret_file")
    echo "run: generated a development JWT secret in $secret_file" >&2
  fi
  JWT_SECRET="$(cat "$secret_file")"
  export JWT_SECRET
  cat >&2 <<EOF
run: the API accepts HS256 tokens signed with the secret in $secret_file. Mint one:
       npx tally token alice            # acts as ledger account "alice"
       npx tally token ops --admin      # an admin
     then: curl -H "Authorization: Bearer \$TOKEN" http://127.0.0.1:${PORT:-3000}/v1/tokens
EOF
fi

# Not `exec`: the trap must outlive the server to stop redis-server. Started in the background
# (where a non-interactive shell ignores SIGINT), so Ctrl-C reaches it only through the trap.
node src/main.ts &
server_pid=$!
trap 'kill -TERM "$server_pid" 2>/dev/null || true' INT TERM
set +e
wait "$server_pid"
status=$?
# A signal interrupts `wait`; wait again for the graceful stop to finish.
while kill -0 "$server_pid" 2>/dev/null; do wait "$server_pid"; status=$?; done
set -e
exit "$status"
