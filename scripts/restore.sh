#!/usr/bin/env bash
# `make restore BACKUP=folder`: replace the database and the uploaded files with a backup's,
# all or nothing.
#
# 1. Everything is checked before anything live is touched: the manifest names both parts and
#    every checksum matches; the media archive decompresses, lists, holds only relative paths
#    and (for backups that carry them) lists exactly what `media.list` says; the dump lists
#    (and matches `database.list`).
# 2. Both parts are restored beside the live ones: the files into a staging folder next to
#    MEDIA_ROOT, the dump into a staging database (one transaction) on the same server.
# 3. Only then the swap: the media folder and the database are renamed into place (renames,
#    not copies); if the database swap fails the media folder is put back.
# Any failure before the swap leaves the live database and folder exactly as they were, and
# removes the staging folder and database; nothing is left behind either way.
#
# The database swap needs the connections to the live database closed: the restore refuses new
# ones, ends the open ones (the app reconnects by itself, CONN_HEALTH_CHECKS), renames, and drops
# the old database. Run it as the database owner or a superuser (CREATE DATABASE, as before for
# `pg_restore --clean`).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/db_url.sh
source_dir=${1:-${BACKUP:?usage: make restore BACKUP=backups/<timestamp>}}
media=${MEDIA_ROOT:-.local/media}
media=${media%/}
bin=/usr/lib/postgresql/15/bin

fail() { echo "restore refused: $*" >&2; exit 1; }

# --- 1. check everything -----------------------------------------------------------------
[[ -f "$source_dir/SHA256SUMS" ]] || fail "no SHA256SUMS in $source_dir"
for part in database.dump media.tar.gz; do
  [[ -f "$source_dir/$part" ]] || fail "$part is missing"
  grep -Eq "^[0-9a-f]{64}  $part\$" "$source_dir/SHA256SUMS" || fail "SHA256SUMS does not cover $part"
done
(cd "$source_dir" && sha256sum --check --strict --quiet SHA256SUMS) || fail "a checksum does not match"

gzip -t "$source_dir/media.tar.gz" 2>/dev/null || fail "the media archive is not a readable gzip file"
members=$(tar -tzf "$source_dir/media.tar.gz") || fail "the media archive cannot be listed"
if grep -Eq '^/|(^|/)\.\.(/|$)' <<<"$members"; then fail "the media archive holds paths outside its folder"; fi
if [[ -f "$source_dir/media.list" ]]; then
  diff -q <(LC_ALL=C sort <<<"$members") "$source_dir/media.list" >/dev/null \
    || fail "the media archive does not hold the files media.list names"
fi
toc=$("$bin/pg_restore" --list "$source_dir/database.dump" 2>/dev/null) || fail "the database dump cannot be listed"
if [[ -f "$source_dir/database.list" ]]; then
  diff -q <(printf '%s\n' "$toc") "$source_dir/database.list" >/dev/null \
    || fail "the database dump does not list what database.list names"
fi

# --- 2. restore beside the live system -----------------------------------------------------
base_url=${PG_URL%%\?*}
query=${PG_URL#"$base_url"}
live_db=${base_url##*/}
server_url=${base_url%/*}
admin_url="$server_url/postgres$query"
[[ "$live_db" =~ ^[A-Za-z0-9_]+$ ]] || fail "unexpected database name '$live_db'"
stamp=$(date -u +%Y%m%d%H%M%S)_$$
staging_db="${live_db}_restore_$stamp"
old_db="${live_db}_old_$stamp"
psql_admin() { "$bin/psql" --no-psqlrc --quiet --tuples-only --no-align --set ON_ERROR_STOP=1 "$admin_url" "$@"; }

mkdir -p "$media"
staging_media=$(mktemp -d "$media.restore.XXXXXX")
old_media=""
staging_created=0
swapped=0
cleanup() {
  status=$?
  trap - EXIT INT TERM
  if (( ! swapped )); then
    # Put back whatever was moved aside, and drop whatever was staged.
    if [[ -n "$old_media" && -d "$old_media/media" ]]; then
      rm -rf "$media"
      mv "$old_media/media" "$media"
    fi
    if [[ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$old_db'" 2>/dev/null)" == 1 ]]; then
      psql_admin -c "ALTER DATABASE \"$old_db\" RENAME TO \"$live_db\"" || true
    fi
    psql_admin -c "ALTER DATABASE \"$live_db\" WITH ALLOW_CONNECTIONS true" >/dev/null 2>&1 || true
    if (( staging_created )); then
      psql_admin -c "DROP DATABASE IF EXISTS \"$staging_db\" WITH (FORCE)" >/dev/null 2>&1 || true
    fi
  fi
  rm -rf "$staging_media"
  if [[ -n "$old_media" ]]; then rm -rf "$old_media"; fi
  exit "$status"
}
trap cleanup EXIT INT TERM

tar -C "$staging_media" -xzf "$source_dir/media.tar.gz" || fail "the media archive could not be extracted"
chmod --reference="$media" "$staging_media"

read -r owner encoding collate ctype < <(psql_admin -F ' ' -c \
  "SELECT pg_get_userbyid(datdba), pg_encoding_to_char(encoding), datcollate, datctype
   FROM pg_database WHERE datname = '$live_db'")
[[ -n "${owner:-}" ]] || fail "no database named $live_db"
psql_admin -c "CREATE DATABASE \"$staging_db\" OWNER \"$owner\" TEMPLATE template0 ENCODING '$encoding'
               LC_COLLATE '$collate' LC_CTYPE '$ctype'"
staging_created=1
"$bin/pg_restore" --no-owner --no-privileges --single-transaction --exit-on-error \
  --dbname "$server_url/$staging_db$query" "$source_dir/database.dump" \
  || fail "the database dump could not be restored"

# --- 3. swap ---------------------------------------------------------------------------------
old_media=$(mktemp -d "$media.old.XXXXXX")
mv "$media" "$old_media/media"
mv "$staging_media" "$media"
psql_admin <<SQL || fail "the database could not be swapped"
ALTER DATABASE "$live_db" WITH ALLOW_CONNECTIONS false;
SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '$live_db' AND pid <> pg_backend_pid();
ALTER DATABASE "$live_db" RENAME TO "$old_db";
ALTER DATABASE "$staging_db" RENAME TO "$live_db";
SQL
swapped=1
psql_admin -c "DROP DATABASE \"$old_db\" WITH (FORCE)" >/dev/null \
  || echo "warning: the previous database is kept as $old_db; drop it by hand" >&2
echo "restored $source_dir"
