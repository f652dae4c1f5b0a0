#!/usr/bin/env bash
# Runs every test project, one after the other, each writing its own TRX file:
#   scripts/test.sh [--results-directory DIR] [extra dotnet test arguments...]
# PostgreSQL suites run when CLAUDE_COORD_TEST_POSTGRES holds an Npgsql connection string
# (.ci/run starts a throw-away cluster); without it they are reported as skipped, by name.
set -uo pipefail
cd "$(dirname "$0")/.."

results=TestResults
if [ "${1:-}" = "--results-directory" ]; then
  results=$2
  shift 2
fi

dotnet build ClaudeCoord.slnx -nologo -v quiet || exit 1

status=0
for project in tests/*/*.Tests.csproj; do
  name=$(basename "$project" .csproj)
  echo "== $name"
  dotnet test "$project" --no-build -nologo \
    --logger "trx;LogFileName=$name.trx" --logger "console;verbosity=normal" \
    --results-directory "$results/$name" "$@" || status=1
done
exit $status
