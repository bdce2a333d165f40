#!/usr/bin/env bash
# `make backup [BACKUP_DIR=...]`: the database (pg_dump, custom format) and the uploaded
# files (MEDIA_ROOT) into one timestamped folder with a checksum manifest.
# Uses DATABASE_URL when set, else the project-local cluster started by `make run`.
# A backup holds every secret of the platform (encrypted personal data, digests, sessions):
# its folders are written 0700 and its files 0600, readable by the account that made them only.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/db_url.sh
target=${1:-${BACKUP_DIR:-backups}/$(date -u +%Y%m%dT%H%M%SZ)}
media=${MEDIA_ROOT:-.local/media}
mkdir -p "$media"
umask 077
mkdir -p "$target"
chmod 700 "$target"
/usr/lib/postgresql/15/bin/pg_dump --format=custom --no-owner --no-privileges \
  --file "$target/database.dump" "$PG_URL"
tar -C "$media" -czf "$target/media.tar.gz" .
(cd "$target" && sha256sum database.dump media.tar.gz > SHA256SUMS)
chmod 600 "$target/database.dump" "$target/media.tar.gz" "$target/SHA256SUMS"  # files that were there
echo "backup written to $target"
