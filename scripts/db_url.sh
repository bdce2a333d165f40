# Sourced by the backup scripts: PG_URL for libpq tools, from DATABASE_URL or the
# project-local cluster of `make run`.
if [[ -z "${DATABASE_URL:-}" ]]; then
  [[ -f .local/pg.port ]] || { echo "no DATABASE_URL and no local cluster (.local/pg.port)" >&2; exit 2; }
  DATABASE_URL="postgis://postgres@127.0.0.1:$(cat .local/pg.port)/anshun"
fi
PG_URL="postgresql://${DATABASE_URL#*://}"
