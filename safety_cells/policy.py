"""Who may do what with safe cells and "1+4" prevention: the app's one table of write permissions.

Every write service in ``safety_cells.services`` is wrapped with ``@POLICY.command(name)``, so the
pages, the API, the admin and the demo loader reach a write only through the rule below (see
``anshun.commands`` for the order of the checks and the refusals).
"""

from __future__ import annotations

from anshun.commands import Policy, Rule

POLICY = Policy(
    "safety_cells",
    {
        "safety_cell_create": Rule(
            capability="safety.manage",
            refers=("region",),
            why="Officials register safe cells in a region of their own jurisdiction.",
        ),
        "demonstration_site_designate": Rule(
            capability="safety.manage",
            target="cell",
            target_model="safety_cells.SafetyCell",
            why="Officials designate demonstration sites among the cells they can see.",
        ),
        "evaluation_record": Rule(
            capability="safety.manage",
            refers=("cell",),
            why="Officials add an evaluation to a cell they can see; the evaluator is always the actor.",
        ),
        "on_site_meeting_record": Rule(
            capability="safety.manage",
            refers=("host_region", "sites"),
            why="The host region and every site visited must be in the official's jurisdiction.",
        ),
        "patrol_log": Rule(
            capability="patrol.log",
            refers=("unit", "incidents"),
            why="A patrol of a unit in the logger's jurisdiction; the incidents it raised are theirs too.",
        ),
        "prevention_unit_create": Rule(
            capability="safety.manage",
            refers=("region",),
            why="Officials set up a 1+4 unit in a region of their own jurisdiction, at its level.",
        ),
        "unit_member_add": Rule(
            capability="safety.manage",
            target="unit",
            target_model="safety_cells.PreventionUnit",
            why="Officials add members to a prevention unit they can see.",
        ),
        "camera_register": Rule(
            capability="safety.manage",
            why=(
                "Officials register cameras; the camera's village comes from its point and must be in "
                "the official's jurisdiction (checked by the service, reported on location)."
            ),
        ),
    },
)
