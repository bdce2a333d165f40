#!/usr/bin/env bash
# `make restore BACKUP=folder`: verify the checksums, then replace the database and the
# uploaded files with the backup's. The database is restored in one transaction, so a
# failed restore leaves the old data in place.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/db_url.sh
source_dir=${1:-${BACKUP:?usage: make restore BACKUP=backups/<timestamp>}}
media=${MEDIA_ROOT:-.local/media}
(cd "$source_dir" && sha256sum --check --quiet SHA256SUMS)
/usr/lib/postgresql/15/bin/pg_restore --clean --if-exists --no-owner --no-privileges \
  --single-transaction --exit-on-error --dbname "$PG_URL" "$source_dir/database.dump"
staging=$(mktemp -d "${media%/}.restore.XXXXXX")
tar -C "$staging" -xzf "$source_dir/media.tar.gz"
mkdir -p "$media"
old=$(mktemp -d "${media%/}.old.XXXXXX")
mv "$media" "$old/media"
mv "$staging" "$media"
rm -rf "$old"
echo "restored $source_dir"
