#!/usr/bin/env bash
# The token computed by hand, the way DESIGN.md describes it: one `git log -1` per plan file, then sha256sum.
# Usage (inside a clone): naive-token.sh [PLAN_PATH] [MAIN_BRANCH]
set -euo pipefail
plan_path=${1:-context}
main=${2:-main}
head=$(git rev-parse --verify --quiet "refs/remotes/origin/$main^{commit}" || git rev-parse --verify "refs/heads/$main^{commit}")
joined=$head
while IFS= read -r file; do
  joined+=$(git log -1 --format=%H "$head" -- "$file")
done < <(git ls-tree --name-only "$head" "$plan_path/" | grep '\.json$' | LC_ALL=C sort)
printf 'sha256:%s\n' "$(printf '%s' "$joined" | sha256sum | cut -d' ' -f1)"
