"""claude-coord tasks for invoke (https://www.pyinvoke.org/).

Copy into your tasks.py (or import from it) and run:

    invoke coord-claims
    invoke coord-next
    invoke coord-claim --task implement-feature-x
    invoke coord-complete --task implement-feature-x
    invoke coord-doctor
    invoke coord-plan-validate

Each task is a thin call of the claude-coord CLI; a non-zero exit code of the CLI is invoke's exit code.
"""

import os
import shlex

from invoke import task

CLAUDE_COORD = os.environ.get("CLAUDE_COORD", "claude-coord")


def _coord(c, *args):
    c.run(" ".join([shlex.quote(CLAUDE_COORD), *(shlex.quote(a) for a in args)]), pty=False)


@task(name="coord-claims")
def coord_claims(c):
    """Show active and recently completed claims."""
    _coord(c, "claims")


@task(name="coord-next")
def coord_next(c):
    """Show the best task to claim now."""
    _coord(c, "next")


@task(name="coord-claim", help={"task": "the task id to claim"})
def coord_claim(c, task):
    """Claim a task for this session."""
    _coord(c, "claim", "--task", task)


@task(name="coord-complete", help={"task": "the task id to mark complete"})
def coord_complete(c, task):
    """Mark this session's task complete."""
    _coord(c, "complete", "--task", task)


@task(name="coord-doctor")
def coord_doctor(c):
    """Check the coordination set-up."""
    _coord(c, "doctor")


@task(name="coord-plan-validate")
def coord_plan_validate(c):
    """Validate the plan files of the work tree."""
    _coord(c, "plan", "validate")
