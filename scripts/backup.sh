#!/usr/bin/env bash
# `make backup [BACKUP_DIR=...]`: the database (pg_dump, custom format) and the uploaded
# files (MEDIA_ROOT) into one timestamped folder with a manifest: what the dump lists
# (database.list), what the archive holds (media.list), and the checksums of all four (SHA256SUMS).
# `restore.sh` checks every part against it before it touches anything live.
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
/usr/lib/postgresql/15/bin/pg_restore --list "$target/database.dump" > "$target/database.list"
tar -tzf "$target/media.tar.gz" | LC_ALL=C sort > "$target/media.list"
(cd "$target" && sha256sum database.dump media.tar.gz database.list media.list > SHA256SUMS)
parts=(database.dump media.tar.gz database.list media.list SHA256SUMS)
chmod 600 "${parts[@]/#/$target/}"  # files that were there keep no wider mode
echo "backup written to $target"
