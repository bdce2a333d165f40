"""Who may change the grid geometry: the one table of the grids app's commands.

Importing real grids replaces the demo geometry city-wide, so it is a platform administrator's
step (``grids.import``); the worker that carries the import out runs as a system command.
"""

from anshun.commands import Policy, Rule

POLICY = Policy(
    "grids",
    {
        "grid_import_start": Rule(
            capability="grids.import",
            why="Real grids replace the demo geometry for the whole city.",
        ),
    },
)
