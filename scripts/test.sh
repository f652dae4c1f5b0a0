#!/usr/bin/env bash
# Runs every test project of the solution. Extra arguments go to `dotnet test`.
# PostgreSQL suites run when CLAUDE_COORD_TEST_POSTGRES holds an Npgsql connection string
# (.ci/run starts one); without it they are reported as skipped, by name.
set -euo pipefail
cd "$(dirname "$0")/.."
exec dotnet test ClaudeCoord.slnx --logger "trx" --logger "console;verbosity=normal" "$@"
