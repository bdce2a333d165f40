"""Who may write what in the basic registry: the one table every door goes through.

- ``registry.record``: grid-office staff keep the registry of the villages their office serves
  (addresses, houses, residents, units, tenancies) and record household visits there;
- ``registry.import``: grid-office heads and township officials upload whole files; every row's
  village or address must be inside the uploader's jurisdiction (checked row by row by the import,
  which reports every bad row);
- revealing a resident's full personal data is a command too, since it appends to the trail.

Each object acted on must be visible to the actor (``visible_to``: otherwise 404, the same answer
as a missing id); a place referred to (the village, the parent address, the address a house or
resident is registered at, the tenant) must be visible too, otherwise a field error.
"""

from anshun.commands import Policy, Rule

RECORD = "registry.record"


def _on(target: str, model: str, why: str, refers: tuple[str, ...] = ()) -> Rule:
    return Rule(capability=RECORD, target=target, target_model=f"registry.{model}", refers=refers, why=why)


POLICY = Policy(
    "registry",
    {
        "address_create": Rule(
            capability=RECORD,
            refers=("village", "parent"),
            why="A new address in a village (under a parent address) the actor's office serves.",
        ),
        "address_update": _on("address", "Address", "Rename or re-place an address; its code never changes."),
        "house_register": Rule(
            capability=RECORD,
            refers=("address", "owner"),
            why="A house at an address in the actor's villages.",
        ),
        "house_update": _on("house", "House", "Change a house's use or owner.", refers=("owner",)),
        "tenancy_start": _on("house", "House", "A tenant moves into a rented house.", refers=("tenant",)),
        "tenancy_end": _on("tenancy", "Tenancy", "A tenancy ends."),
        "resident_register": Rule(
            capability=RECORD,
            refers=("address",),
            why="A person living at an address in the actor's villages.",
        ),
        "resident_update": _on("resident", "Resident", "Correct a resident's kind or phone."),
        "resident_move_out": _on("resident", "Resident", "A resident has moved away."),
        "resident_reveal": _on(
            "resident", "Resident", "Full personal data is shown once, with a stated purpose, and logged."
        ),
        "unit_register": Rule(
            capability=RECORD, refers=("address",), why="A unit at an address in the actor's villages."
        ),
        "unit_update": _on("unit", "Unit", "Change a unit's contact or campus note."),
        "house_visit": _on("house", "House", "A grid worker records a household visit and its corrections."),
        "unit_visit": _on("unit", "Unit", "A grid worker records a visit to a unit."),
        "import_start": Rule(
            capability="registry.import",
            why="Rows outside the uploader's jurisdiction are refused row by row by the import.",
        ),
    },
)
