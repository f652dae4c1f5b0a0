# claude-coord targets for make. Include from your Makefile:   include coord.mk
# (or paste these lines into it; recipe lines start with a TAB).
#
#   make coord-claims
#   make coord-next
#   make coord-claim TASK=implement-feature-x
#   make coord-complete TASK=implement-feature-x
#   make coord-doctor
#   make coord-plan-validate
#
# Each target is a thin call of the claude-coord CLI; make stops with an error when the CLI fails
# (the CLI prints what to do on stderr).

CLAUDE_COORD ?= claude-coord

.PHONY: coord-claims coord-next coord-claim coord-complete coord-doctor coord-plan-validate

coord-claims:
	$(CLAUDE_COORD) claims

coord-next:
	$(CLAUDE_COORD) next

coord-claim:
	@test -n "$(TASK)" || { echo "usage: make coord-claim TASK=<task-id>" >&2; exit 64; }
	$(CLAUDE_COORD) claim --task "$(TASK)"

coord-complete:
	@test -n "$(TASK)" || { echo "usage: make coord-complete TASK=<task-id>" >&2; exit 64; }
	$(CLAUDE_COORD) complete --task "$(TASK)"

coord-doctor:
	$(CLAUDE_COORD) doctor

coord-plan-validate:
	$(CLAUDE_COORD) plan validate
