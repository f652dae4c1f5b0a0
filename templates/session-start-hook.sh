#!/usr/bin/env bash
# claude-coord SessionStart hook for Claude Code.
# Copy to .claude/hooks/session-start-coord.sh (chmod 755) or let `claude-coord init` write it.
#
# What it does: installs the claude-coord CLI when it is missing, then runs
# `claude-coord hook session-start`, which reads the hook's JSON on standard input (session_id, source...),
# records the session id for later commands (CLAUDE_ENV_FILE), and prints the coordination state that
# Claude Code adds to the agent's context.
#
# It never stops a session: every path exits 0. When the service or the CLI is unavailable it prints
# what the agent should do instead.
set -u

: "${CLAUDE_COORD_INSTALL_SCRIPT_URL:=https://raw.githubusercontent.com/claude-coord/claude-coord/main/install.sh}"

# Hooks run in the project folder; be sure of it when Claude Code tells us where that is.
if [ -n "${CLAUDE_PROJECT_DIR:-}" ]; then
  cd "$CLAUDE_PROJECT_DIR" 2>/dev/null || true
fi

find_cli() {
  if command -v claude-coord 2>/dev/null; then
    return 0
  fi
  for candidate in "${CLAUDE_COORD_INSTALL_DIR:-}" "$HOME/.local/bin" /usr/local/bin; do
    if [ -n "$candidate" ] && [ -x "$candidate/claude-coord" ]; then
      printf '%s\n' "$candidate/claude-coord"
      return 0
    fi
  done
  return 1
}

cli=$(find_cli) || cli=""
if [ -z "$cli" ] && command -v curl >/dev/null 2>&1; then
  echo "claude-coord: CLI not found, installing it from $CLAUDE_COORD_INSTALL_SCRIPT_URL" >&2
  installer=$(mktemp "${TMPDIR:-/tmp}/claude-coord-install.XXXXXX") || installer=""
  if [ -n "$installer" ]; then
    # The installer's messages go to stderr: stdout is the agent's context. The hook's JSON stays on stdin.
    if curl -fsSL --max-time 30 "$CLAUDE_COORD_INSTALL_SCRIPT_URL" -o "$installer" </dev/null >&2; then
      bash "$installer" </dev/null >&2 || true
    fi
    rm -f "$installer"
  fi
  cli=$(find_cli) || cli=""
fi

if [ -z "$cli" ]; then
  cat <<'MSG'
=== Coordination State ===
ERROR: The claude-coord CLI is not installed and could not be installed.

ACTION REQUIRED: Task coordination is unavailable in this session. Please ask the user whether to:
1. Install the CLI (see install.sh in the claude-coord repository) and start a new session
2. Proceed without coordination (risk of duplicate work)
MSG
  exit 0
fi

# Standard input (the hook's JSON) passes straight through to the CLI.
"$cli" hook session-start || true
exit 0
