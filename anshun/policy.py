"""The platform's own commands: starting an export job.

An export job is started from a page the official may read, so its rule is the capability that
page reads with: one rule per capability that has an export door. The job itself is run by the
worker (``anshun.export_jobs.run_export_job``, a system command) which authorises the requester
by the same rule again, and replays the page for them, when it runs.
"""

from anshun.commands import NotPermitted, Policy, Rule

# Capabilities of the pages that offer exports (incidents, mediation, legal services, the six
# projects, safe cells and patrols, the survey dashboards, the audit trail).
EXPORT_CAPABILITIES = (
    "incident.view",
    "mediation.view",
    "legal.serve",
    "special_groups.handle",
    "safety.view",
    "dashboard.view",
    "audit.view",
    "registry.view",
)


def export_rule_name(capability: str) -> str:
    return "export_" + capability.replace(".", "_")


POLICY = Policy(
    "anshun",
    {
        export_rule_name(capability): Rule(
            capability=capability,
            why=f"An export of a page read with {capability}; its rows are that page's, scoped "
            "by visible_to when the job runs, so the command itself has no target.",
        )
        for capability in EXPORT_CAPABILITIES
    },
)


def authorize_export(*, actor, capability: str) -> None:
    """The one check of an export, whatever its size: the rule ``export_<capability>``.

    ``anshun.exports.export_response`` asks it before streaming a file inline, the export-job
    command is that same rule when a job is started, and the worker asks it again when the job
    runs; so a role the rule refuses (a lawyer and the incident list) gets no file at any size.
    Raises ``NotPermitted`` (403); a capability with no export door is refused too.
    """
    if capability not in EXPORT_CAPABILITIES:
        raise NotPermitted()
    POLICY.authorize(export_rule_name(capability), actor=actor, arguments={})
