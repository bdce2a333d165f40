"""Restore drill: back up, destroy, restore, and everything is there again; a backup that is
damaged in any part is refused before anything live is touched, and leaves nothing behind."""

import gzip
import hashlib
import io
import os
import stat
import subprocess
import tarfile
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import connection

from accounts.models import User
from accounts.roles import Role
from grids.models import Grid, GridImport
from tests.factories import user_for_role

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.django_db(transaction=True)


def _script(name, *args, media_root, umask=0o022):
    db = connection.settings_dict
    env = {
        **os.environ,
        "MEDIA_ROOT": str(media_root),
        "DATABASE_URL": f"postgis://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
    }
    connection.close()  # pg_restore --clean needs the tables free
    return subprocess.run(
        [f"scripts/{name}", *map(str, args)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        umask=umask,
    )


def test_backup_destroy_restore(anshun_tree, tmp_path):
    media_root = Path(settings.MEDIA_ROOT)
    official = user_for_role(Role.CITY_OFFICIAL)
    upload = GridImport.objects.create(source=ContentFile(b'{"type": "FeatureCollection"}', name="a.geojson"))
    upload_path = media_root / upload.source.name
    grid_count, village_grids = (
        Grid.objects.count(),
        Grid.objects.filter(code__startswith="520402001004").count(),
    )

    backup = _script("backup.sh", tmp_path / "backup", media_root=media_root)
    assert backup.returncode == 0, backup.stderr
    assert {p.name for p in (tmp_path / "backup").iterdir()} == {
        "database.dump",
        "media.tar.gz",
        "database.list",
        "media.list",
        "SHA256SUMS",
    }
    live_oid = _database_oid()
    # Readable by the account that made it only, whatever the caller's umask.
    assert stat.S_IMODE((tmp_path / "backup").stat().st_mode) == 0o700
    for part in (tmp_path / "backup").iterdir():
        assert stat.S_IMODE(part.stat().st_mode) == 0o600, part.name

    # Disaster: rows deleted, uploaded file gone.
    Grid.objects.filter(code__startswith="520402001004").delete()
    User.objects.filter(pk=official.pk).delete()
    upload_path.unlink()
    assert Grid.objects.count() == grid_count - village_grids

    restore = _script("restore.sh", tmp_path / "backup", media_root=media_root)
    assert restore.returncode == 0, restore.stderr
    assert Grid.objects.count() == grid_count
    assert User.objects.filter(pk=official.pk, username=official.username).exists()
    assert upload_path.read_bytes() == b'{"type": "FeatureCollection"}'
    # The database was restored beside the live one and swapped in; nothing staged is left.
    assert _database_oid() != live_oid
    assert _leftovers(media_root) == ([], [])


def test_a_backup_over_an_open_folder_is_made_private(anshun_tree, tmp_path):
    """A folder someone made world-readable beforehand, holding an old world-readable dump."""
    target = tmp_path / "open"
    target.mkdir(mode=0o777)
    target.chmod(0o777)
    (target / "database.dump").write_bytes(b"old")
    (target / "database.dump").chmod(0o666)
    done = _script("backup.sh", target, media_root=Path(settings.MEDIA_ROOT), umask=0)
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in target.iterdir()} == {0o600}


def test_a_corrupted_backup_is_refused_and_changes_nothing(anshun_tree, tmp_path):
    media_root = Path(settings.MEDIA_ROOT)
    assert _script("backup.sh", tmp_path / "b", media_root=media_root).returncode == 0
    with (tmp_path / "b" / "database.dump").open("ab") as dump:
        dump.write(b"tampered")
    before = Grid.objects.count()
    restore = _script("restore.sh", tmp_path / "b", media_root=media_root)
    assert restore.returncode != 0
    assert Grid.objects.count() == before


def _database_oid():
    with connection.cursor() as cursor:
        cursor.execute("SELECT oid FROM pg_database WHERE datname = current_database()")
        return cursor.fetchone()[0]


def _leftovers(media_root):
    """Staging or old copies next to the media folder, and staging or old databases."""
    folders = sorted(
        p.name for p in Path(media_root).parent.iterdir() if p.name.startswith(Path(media_root).name + ".")
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT array_agg(datname ORDER BY datname) FROM pg_database WHERE datname ~ %s",
            [f"^{connection.settings_dict['NAME']}_(restore|old)_"],
        )
        return folders, cursor.fetchone()[0] or []


def _db_state():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT oid FROM pg_database WHERE datname = current_database()),"
            " (SELECT md5(string_agg(code || name || ST_AsEWKB(geometry)::text, ',' ORDER BY code))"
            " FROM grids_grid),"
            " (SELECT md5(string_agg(id || username, ',' ORDER BY id)) FROM accounts_user),"
            " (SELECT count(*) FROM grids_gridimport)"
        )
        return cursor.fetchone()


def _tree(folder):
    """Every file and folder under ``folder`` with its bytes' digest and mode."""
    return sorted(
        (
            str(p.relative_to(folder)),
            p.is_dir(),
            stat.S_IMODE(p.stat().st_mode),
            None if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest(),
        )
        for p in Path(folder).rglob("*")
    )


def _reseal(backup):
    """Recompute the checksums, as an attacker (or a bad copy with its manifest redone) would."""
    names = [line.split()[1] for line in (backup / "SHA256SUMS").read_text().splitlines()]
    (backup / "SHA256SUMS").write_text(
        "".join(f"{hashlib.sha256((backup / n).read_bytes()).hexdigest()}  {n}\n" for n in names)
    )


@pytest.fixture
def live(anshun_tree, tmp_path):
    """A live media folder with files in it, a backup of the whole system, and then changes
    made after the backup, so that any restore, even a partial one, would show."""
    media_root = tmp_path / "media"
    (media_root / "incidents" / "2026").mkdir(parents=True)
    (media_root / "incidents" / "2026" / "a.jpg").write_bytes(b"\xff\xd8 one photo")
    (media_root / "b.geojson").write_bytes(b"{}")
    done = _script("backup.sh", tmp_path / "backup", media_root=media_root)
    assert done.returncode == 0, done.stderr
    GridImport.objects.create(source=ContentFile(b"{}", name="after.geojson"))
    user_for_role(Role.COUNTY_OFFICIAL)
    (media_root / "after-the-backup.jpg").write_bytes(b"new")
    return media_root, tmp_path / "backup"


def _refused_and_untouched(media_root, backup, message):
    db_before, files_before = _db_state(), _tree(media_root)
    restore = _script("restore.sh", backup, media_root=media_root)
    assert restore.returncode != 0
    assert _db_state() == db_before
    assert _tree(media_root) == files_before
    assert _leftovers(media_root) == ([], [])
    assert message in restore.stderr, restore.stderr


def test_a_corrupt_media_archive_with_a_matching_checksum_changes_nothing(live):
    media_root, backup = live
    data = (backup / "media.tar.gz").read_bytes()
    (backup / "media.tar.gz").write_bytes(data[: len(data) // 2] + b"\0" * 64)
    _reseal(backup)
    _refused_and_untouched(media_root, backup, "media archive")


def test_a_media_archive_that_escapes_its_folder_is_refused(live):
    media_root, backup = live
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb") as zipped, tarfile.open(fileobj=zipped, mode="w") as tar:
        info = tarfile.TarInfo("../outside.txt")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"bad"))
    (backup / "media.tar.gz").write_bytes(buffer.getvalue())
    (backup / "media.list").write_text("../outside.txt\n")
    _reseal(backup)
    _refused_and_untouched(media_root, backup, "outside its folder")
    assert not (media_root.parent / "outside.txt").exists()


def test_an_archive_other_than_the_listed_one_is_refused(live):
    media_root, backup = live
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb") as zipped, tarfile.open(fileobj=zipped, mode="w") as tar:
        tar.addfile(tarfile.TarInfo("./empty.txt"), io.BytesIO(b""))
    (backup / "media.tar.gz").write_bytes(buffer.getvalue())
    _reseal(backup)
    _refused_and_untouched(media_root, backup, "media.list")


def test_a_dump_that_lists_but_does_not_restore_leaves_the_live_database(live):
    """The table of contents is whole, the data is cut short: the staging database fails and is
    dropped; the live database (same oid, same rows) and the files are as they were."""
    media_root, backup = live
    data = (backup / "database.dump").read_bytes()
    (backup / "database.dump").write_bytes(data[: int(len(data) * 0.8)])
    _reseal(backup)
    assert (
        subprocess.run(
            ["/usr/lib/postgresql/15/bin/pg_restore", "--list", backup / "database.dump"], capture_output=True
        ).returncode
        == 0
    )
    _refused_and_untouched(media_root, backup, "could not be restored")


def test_a_manifest_that_leaves_a_part_out_is_refused(live):
    media_root, backup = live
    sums = (backup / "SHA256SUMS").read_text().splitlines()
    (backup / "SHA256SUMS").write_text("".join(f"{line}\n" for line in sums if "media.tar.gz" not in line))
    (backup / "media.tar.gz").write_bytes(b"not an archive")
    _refused_and_untouched(media_root, backup, "does not cover media.tar.gz")
