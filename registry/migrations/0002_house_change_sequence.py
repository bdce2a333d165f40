"""A sequence every change to the houses moves, for the assessment's input fingerprint.

The household-visit coverage counts houses per grid. New houses move ``registry_house_id_seq``,
but a house moved to another grid (its address re-placed, a grid import) or deleted moved nothing,
so the hourly scoring took the year as unchanged and kept the old denominators. Statement
triggers see every door (services, imports, the admin, raw SQL) and only when rows changed."""

from django.db import migrations

FORWARD = """
CREATE SEQUENCE registry_house_change_seq;

CREATE FUNCTION registry_house_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM changed) THEN
        PERFORM nextval('registry_house_change_seq');
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER registry_house_updated AFTER UPDATE ON registry_house
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION registry_house_changed();
CREATE TRIGGER registry_house_deleted AFTER DELETE ON registry_house
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION registry_house_changed();
"""

BACKWARD = """
DROP TRIGGER registry_house_deleted ON registry_house;
DROP TRIGGER registry_house_updated ON registry_house;
DROP FUNCTION registry_house_changed();
DROP SEQUENCE registry_house_change_seq;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0001_initial"),
    ]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
