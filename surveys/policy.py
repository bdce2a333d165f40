"""Who may feed and configure the public-safety survey: the surveys app's table of commands.

Uploading responses needs ``surveys.import``; every row's community must also be inside the
uploader's jurisdiction (checked row by row by the intake, which reports each bad row). The
survey's configuration (waves, items, counting rules, published economic figures) changes
published rates city-wide, so it needs ``surveys.configure``.
"""

from anshun.commands import Policy, Rule

POLICY = Policy(
    "surveys",
    {
        "responses_import": Rule(
            capability="surveys.import",
            why="Rows outside the uploader's jurisdiction are refused row by row by the intake.",
        ),
        "rollup_request": Rule(capability="surveys.import"),
        "wave_set": Rule(capability="surveys.configure"),
        "item_set": Rule(capability="surveys.configure"),
        "counting_rule_set": Rule(capability="surveys.configure"),
        "indicator_set": Rule(capability="surveys.configure"),
    },
)
