#!/usr/bin/env bash
# Keeps one process running: starts COMMAND, and whenever it exits (killed, crashed, out of
# memory) starts it again after a short pause, appending its output to LOG. TERM or INT stops
# the command (by its PID) and then the supervisor itself. `make run` runs the Celery worker
# and beat under it, so a dead worker is replaced instead of taking the stack down.
#   supervise.sh NAME LOG COMMAND [ARGS...]
set -uo pipefail
name=${1:?usage: supervise.sh NAME LOG COMMAND [ARGS...]}
log=${2:?usage: supervise.sh NAME LOG COMMAND [ARGS...]}
shift 2
child=
stopping=0

stop() {
  stopping=1
  if [[ -n "$child" ]]; then
    kill -TERM "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  exit 0
}
trap stop TERM INT

delay=${SUPERVISE_RESTART_DELAY:-2}
while (( ! stopping )); do
  "$@" >>"$log" 2>&1 &
  child=$!
  echo "$(date -Is) supervise: $name started (pid $child)" >>"$log"
  wait "$child"
  status=$?
  (( stopping )) && break
  echo "$(date -Is) supervise: $name exited with status $status; restarting in ${delay}s" >>"$log"
  echo "supervise: $name exited with status $status; restarting in ${delay}s" >&2
  sleep "$delay" &
  wait $!
done
