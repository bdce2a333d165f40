"""Restore drill: back up, destroy, restore, and everything is there again."""

import os
import stat
import subprocess
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
        "SHA256SUMS",
    }
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
