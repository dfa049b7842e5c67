#!/usr/bin/env bash
# `make run`: serve Tally on this machine (the Makefile runs scripts/bootstrap.sh first).
# Settings are the user's environment over .env, read as src/config.ts reads them.
#   - REDIS_URL / REDIS_CLUSTER_URLS unset: start a local redis-server on 127.0.0.1:6379 (the
#     next free port when that one is taken) with its data under DATA_DIR/redis, persisted with
#     AOF: appendonly yes, appendfsync $REDIS_APPENDFSYNC (default everysec). everysec: a crash of
#     redis-server loses nothing acknowledged, a crash of the machine up to about two seconds of
#     acknowledged writes; always: nothing acknowledged either way, at the cost of an fsync before
#     each batch of replies (README, Durability). It stops when this exits. One redis-server per
#     data directory: a lock (DATA_DIR/redis/make-run.lock, held until this script, its Redis
#     and its server are gone) makes a second `make run` on the same DATA_DIR refuse, because
#     two servers appending to one AOF directory diverge and corrupt it.
#   - applies pending migrations (npm run migrate): loads the ledger Redis Functions library.
#   - no JWT_SECRET / JWT_PUBLIC_KEY / JWT_JWKS_URL: uses a dev HS256 secret kept in
#     DATA_DIR/dev-jwt-secret (generated once), and sets DASHBOARD_DEV_TOKENS=1 (unless set) so
#     the dashboard's sign-in page can mint dev tokens.
#   - writes DATA_DIR/tally.env (REDIS_URL of the Redis it started, JWT_SECRET when it is the dev
#     secret, the PORT it serves on for `tally dashboard`, TALLY_NAMESPACE when set), which the CLI reads below the environment and .env (src/config.ts readEnv), and
#     prints the lines to paste elsewhere; removes it on exit. Never writes .env.
#   - the server (what `npm start` runs, without npm's extra shell in between so that signals
#     reach it); Ctrl-C stops it gracefully, then redis-server.
set -euo pipefail
cd "$(dirname "$0")/.."

# The user's own settings (environment over .env), without the tally.env this script writes.
{ read -r DATA_DIR; read -r user_redis; read -r user_jwt; } < <(node --input-type=module -e '
  import { readEnv } from "./src/config.ts";
  const env = readEnv(process.env, ".env", false);
  const set = (...names) => (names.some((name) => env[name]) ? "yes" : "");
  console.log([env.DATA_DIR || "./data", set("REDIS_URL", "REDIS_CLUSTER_URLS"), set("JWT_SECRET", "JWT_PUBLIC_KEY", "JWT_JWKS_URL")].join("\n"));
')
export DATA_DIR
mkdir -p "$DATA_DIR"
run_env_file="$DATA_DIR/tally.env"

redis_pid=""
wrote_run_env=""
cleanup() {
  local status=$?
  [ -z "$wrote_run_env" ] || rm -f "$run_env_file"
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
  # fd 9 stays open in this script, redis-server and the server: the lock lasts while any runs.
  exec 9<>"$dir/make-run.lock"
  if ! flock -n 9; then
    echo "run: refusing to start a second redis-server on $dir: another \`make run\` (pid $(head -1 "$dir/make-run.lock")) is using it." >&2
    echo "     Stop that one first, or use it: REDIS_URL=$(sed -n 2p "$dir/make-run.lock") PORT=3001 make run; or give this one its own DATA_DIR=..." >&2
    exit 1
  fi
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
  printf '%s\n%s\n' "$$" "$REDIS_URL" >"$dir/make-run.lock"
  started_redis_url="$REDIS_URL"
  echo "run: started redis-server (AOF, appendfsync $appendfsync) on $REDIS_URL, data in $dir" >&2
}

started_redis_url=""
if [ -z "$user_redis" ]; then
  start_local_redis
fi

npm run --silent migrate

dev_secret_file=""
if [ -z "$user_jwt" ]; then
  dev_secret_file="$DATA_DIR/dev-jwt-secret"
  if [ ! -s "$dev_secret_file" ]; then
    (umask 077 && node -e 'process.stdout.write(require("node:crypto").randomBytes(32).toString("hex"))' > "$dev_secret_file")
    echo "run: generated a development JWT secret in $dev_secret_file" >&2
  fi
  JWT_SECRET="$(cat "$dev_secret_file")"
  export JWT_SECRET
  # With the dev secret, the dashboard's sign-in page may mint dev tokens (for this machine only).
  export DASHBOARD_DEV_TOKENS="${DASHBOARD_DEV_TOKENS:-1}"
fi

# What the CLI needs to reach this Redis with this secret, in the one file it reads besides the
# environment and .env. Only the make run holding the Redis lock writes it.
if [ -n "$started_redis_url" ]; then
  (umask 077
   { echo "# written by make run (scripts/run.sh) while it runs; removed when it stops"
     echo "REDIS_URL=$started_redis_url"
     [ -z "$dev_secret_file" ] || echo "JWT_SECRET=$JWT_SECRET"
     echo "PORT=${PORT:-3000}"
     # The CLI's snapshot and airdrop records go where the server's are.
     [ -z "${TALLY_NAMESPACE:-}" ] || echo "TALLY_NAMESPACE=$TALLY_NAMESPACE"
   } >"$run_env_file.tmp" && mv "$run_env_file.tmp" "$run_env_file")
  wrote_run_env=yes
fi

abs_data_dir="$(cd "$DATA_DIR" && pwd)"
{
  echo "run: the dashboard: http://127.0.0.1:${PORT:-3000}/  (npx tally dashboard --admin prints a link that signs in)"
  echo "run: in another terminal, from $PWD (the CLI reads $run_env_file):"
  echo "       TOKEN=\$(npx tally token ops --admin)      # an admin JWT; 'npx tally token alice' acts as alice"
  echo "       curl -H \"Authorization: Bearer \$TOKEN\" http://127.0.0.1:${PORT:-3000}/v1/tokens"
  if [ -n "$started_redis_url" ] || [ -n "$dev_secret_file" ]; then
    echo "     anywhere else, first paste:"
    [ -z "$started_redis_url" ] || echo "       export REDIS_URL=$started_redis_url"
    [ -z "$dev_secret_file" ] || echo "       export JWT_SECRET=\$(cat $abs_data_dir/dev-jwt-secret)"
  fi
} >&2

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
