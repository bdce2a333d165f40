#!/usr/bin/env bash
# Starts and stops a project-local PostgreSQL/PostGIS cluster and Redis server on
# loopback, each under a state directory of its own (.local/ for `make run`, a
# throwaway one for `make test`). Services are stopped by their recorded PID,
# never by process name, so nothing else on the machine is touched.
#
#   services.sh start STATE_DIR   -> prints DATABASE_URL=... and REDIS_URL=... lines
#   services.sh stop  STATE_DIR
set -euo pipefail

action=${1:?usage: services.sh start|stop STATE_DIR}
state=${2:?usage: services.sh start|stop STATE_DIR}
mkdir -p "$state"
state=$(cd "$state" && pwd)
PG_BIN=/usr/lib/postgresql/15/bin

as_pg() {
  # PostgreSQL refuses to run as root; run it as the postgres user then.
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  python3 - "$1" <<'PY'
import socket, sys
preferred = int(sys.argv[1])
for port in [preferred] + list(range(preferred + 1, preferred + 200)):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        print(port)
        break
PY
}

same_port() {
  # A restart must come back on the recorded port: clients (the web, workers, beat) hold that
  # address and reconnect to it by themselves. The port is tested the way the servers bind it
  # (SO_REUSEADDR), so connections of the previous run lingering in TIME_WAIT do not count;
  # a port really taken by something else is waited for briefly, then refused, never moved.
  python3 - "$1" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
deadline = time.monotonic() + 30
while True:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            if time.monotonic() > deadline:
                sys.exit(f"port {port} is taken by another process; not moving to another port")
            time.sleep(0.5)
            continue
    print(port)
    break
PY
}

pg_tuning() {
  # Memory settings for the machine this runs on, from /proc/meminfo (MemTotal, in kB):
  # shared_buffers 25% of RAM (at most 8 GB), effective_cache_size 75%, maintenance_work_mem
  # 5% (64 MB..1 GB), work_mem RAM/64 (4..64 MB: a 2-core box runs few sorts at once).
  # PG_TUNE=off keeps PostgreSQL's defaults (128 MB shared buffers).
  [[ ${PG_TUNE:-on} == off ]] && return 0
  local kb mb
  kb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo 2>/dev/null || true)
  [[ -n $kb ]] || return 0
  mb=$((kb / 1024))
  clamp() { local v=$1 lo=$2 hi=$3; ((v < lo)) && v=$lo; ((v > hi)) && v=$hi; echo "$v"; }
  echo "-c shared_buffers=$(clamp $((mb / 4)) 128 8192)MB" \
    "-c effective_cache_size=$(clamp $((mb * 3 / 4)) 512 65536)MB" \
    "-c work_mem=$(clamp $((mb / 64)) 4 64)MB" \
    "-c maintenance_work_mem=$(clamp $((mb / 20)) 64 1024)MB" \
    "-c random_page_cost=1.1"
}

start() {
  local pgdata="$state/pg" run="$state/run"
  mkdir -p "$run" "$state/redis" "$state/log"
  if [[ $(id -u) -eq 0 ]]; then chown postgres "$state" "$run" "$state/log"; fi
  chmod 0755 "$state"
  if [[ ! -f "$pgdata/PG_VERSION" ]]; then
    mkdir -p "$pgdata"
    [[ $(id -u) -eq 0 ]] && chown postgres "$pgdata"
    as_pg "$PG_BIN/initdb" -D "$pgdata" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  local pg_port redis_port
  if ! as_pg "$PG_BIN/pg_ctl" -D "$pgdata" status >/dev/null 2>&1; then
    if [[ -f "$state/pg.port" ]]; then pg_port=$(same_port "$(cat "$state/pg.port")"); else pg_port=$(free_port "${PG_PORT:-54329}"); fi
    as_pg "$PG_BIN/pg_ctl" -D "$pgdata" -w -t 60 -l "$state/log/postgres.log" \
      -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $run -c fsync=${PG_FSYNC:-on} $(pg_tuning)" start >/dev/null
  else
    pg_port=$(cat "$state/pg.port")
  fi
  echo "$pg_port" > "$state/pg.port"
  as_pg "$PG_BIN/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname='anshun'" | grep -q 1 \
    || as_pg "$PG_BIN/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres anshun

  if [[ -f "$state/redis.pid" ]] && kill -0 "$(cat "$state/redis.pid")" 2>/dev/null; then
    redis_port=$(cat "$state/redis.port")
  else
    # A restart keeps the previous port, so that clients and queued work find it again.
    if [[ -f "$state/redis.port" ]]; then redis_port=$(same_port "$(cat "$state/redis.port")"); else redis_port=$(free_port "${REDIS_PORT:-63799}"); fi
    redis-server --bind 127.0.0.1 --port "$redis_port" --dir "$state/redis" \
      --daemonize yes --pidfile "$state/redis.pid" --logfile "$state/log/redis.log" \
      --appendonly yes --save "" >/dev/null
    for _ in $(seq 50); do
      redis-cli -h 127.0.0.1 -p "$redis_port" ping >/dev/null 2>&1 && break
      sleep 0.1
    done
    echo "$redis_port" > "$state/redis.port"
  fi
  echo "DATABASE_URL=postgis://postgres@127.0.0.1:$pg_port/anshun"
  echo "REDIS_URL=redis://127.0.0.1:$redis_port/0"
}

stop() {
  if [[ -f "$state/pg/postmaster.pid" ]]; then
    as_pg "$PG_BIN/pg_ctl" -D "$state/pg" -m fast -w stop >/dev/null || true
  fi
  if [[ -f "$state/redis.pid" ]]; then
    local pid
    pid=$(cat "$state/redis.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$state/redis.pid"
  fi
}

case "$action" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: services.sh start|stop STATE_DIR" >&2; exit 2 ;;
esac
