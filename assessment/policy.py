"""Who may write what in the assessment: the one table every door goes through.

Weights and targets are set by the city (and platform admins) for a year; scores are written only
by the Celery run (``compute_scores``, a system command), never by a person."""

from anshun.commands import Policy, Rule

POLICY = Policy(
    "assessment",
    {
        "target_set": Rule(
            capability="assessment.configure",
            why="The city sets each indicator's weight and target for a year: a city-wide setting "
            "(every unit is scored against the same table), so it has no target in a jurisdiction.",
        ),
    },
)
