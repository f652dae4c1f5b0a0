#!/usr/bin/env bash
# CLI benchmarks (see bench/README.md, "CLI"):
#  (a) wall time of `claude-coord claims` end to end against a local service: Native AOT binary vs the dotnet
#      tool vs the same job done by hand (one `git log -1` per plan file, sha256sum, curl);
#  (b) token computation: the library's one pass over history (`claude-coord token --no-cache`) vs the naive
#      one-`git log -1`-per-file + sha256sum, and the cached token (`claude-coord token`).
# On a generated repository of 20,000 commits and 50 plan files, half last changed in the first commit.
#
# Usage: bench/cli/run.sh            (env: BENCH_DIR, COMMITS, PLANS, RUNS, SERVICE_DLL, AOT_BIN)
# Needs: git, python3, curl, the .NET SDK, clang + zlib1g-dev (Native AOT), hyperfine (else a bash loop).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/claude-coord-bench}
COMMITS=${COMMITS:-20000}
PLANS=${PLANS:-50}
RUNS=${RUNS:-20}
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

# --- inputs -------------------------------------------------------------------------------------------
if [ ! -d "$BENCH_DIR/work" ] || [ "$(git -C "$BENCH_DIR/work" rev-list --count HEAD)" != "$COMMITS" ]; then
  python3 bench/cli/make-repo.py "$BENCH_DIR" --commits "$COMMITS" --plans "$PLANS"
fi

AOT_BIN=${AOT_BIN:-$ROOT/src/ClaudeCoord.Cli/bin/Release/net10.0/linux-x64/publish/claude-coord}
if [ ! -x "$AOT_BIN" ]; then
  dotnet publish src/ClaudeCoord.Cli -r linux-x64 -c Release -v q -nologo >/dev/null
fi

TOOL_DIR="$BENCH_DIR/tool"
rm -rf "$TOOL_DIR" "$BENCH_DIR/nupkg"
dotnet pack src/ClaudeCoord.Cli -c Release -o "$BENCH_DIR/nupkg" -v q -nologo >/dev/null
dotnet tool install --tool-path "$TOOL_DIR" --add-source "$BENCH_DIR/nupkg" ClaudeCoord.Cli >/dev/null
TOOL_BIN="$TOOL_DIR/claude-coord"

SERVICE_DLL=${SERVICE_DLL:-$ROOT/src/ClaudeCoord.Service/bin/Release/net10.0/claude-coord-service.dll}
if [ ! -f "$SERVICE_DLL" ]; then
  dotnet build src/ClaudeCoord.Service -c Release -v q -nologo >/dev/null
fi

# --- a local service whitelisting the generated repository ---------------------------------------------
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL="http://127.0.0.1:$PORT"
SERVICE_HOME="$BENCH_DIR/service"
rm -rf "$SERVICE_HOME" && mkdir -p "$SERVICE_HOME"
cat > "$SERVICE_HOME/claude-coord-service.toml" <<TOML
[server]
urls = "$URL"

[storage]
sqlite_path = "claims.db"
data_dir = "data"

[[repos]]
name = "bench/repo"
plan_path = "context"
main_branch = "main"
source = "git"
url = "$BENCH_DIR/origin.git"
TOML
dotnet "$SERVICE_DLL" --config "$SERVICE_HOME/claude-coord-service.toml" --urls "$URL" >"$SERVICE_HOME/log" 2>&1 &
SERVICE_PID=$!
trap 'kill $SERVICE_PID 2>/dev/null || true' EXIT
for _ in $(seq 300); do curl -fs "$URL/healthz" >/dev/null 2>&1 && break; sleep 0.2; done

cd "$BENCH_DIR/work"
printf 'repo = "bench/repo"\nservice_url = "%s"\n' "$URL" > .claude-coord.toml
NAIVE_TOKEN="bash $ROOT/bench/cli/naive-token.sh context main"
NAIVE_CLAIMS="t=\$($NAIVE_TOKEN); curl -fsS \"$URL/claims?repo=bench%2Frepo&token=\$t&commit_sha=\$(git rev-parse origin/main)\" >/dev/null"

# Both must agree on the token before anything is timed.
"$AOT_BIN" claims >/dev/null
[ "$("$AOT_BIN" token --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["token_fingerprint"][:19])')" = "$($NAIVE_TOKEN | cut -c1-19)" ] \
  || { echo "token mismatch between the CLI and the naive computation" >&2; exit 1; }

RESULTS="$BENCH_DIR/results"
rm -rf "$RESULTS" && mkdir -p "$RESULTS"
NAIVE_RUNS=${NAIVE_RUNS:-5}
measure() { # name, runs, command
  local name=$1 runs=$2 command=$3
  if command -v hyperfine >/dev/null; then
    hyperfine -N --style basic --warmup 2 --runs "$runs" --export-json "$RESULTS/$name.json" "$command" >/dev/null
    python3 - "$RESULTS/$name.json" "$name" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print("%-22s median %8.1f ms  mean %8.1f ms  min %8.1f ms  max %8.1f ms  (%d runs)" % (
    sys.argv[2], r["median"] * 1000, r["mean"] * 1000, r["min"] * 1000, r["max"] * 1000, len(r["times"])))
PY
  else
    local times=()
    bash -c "$command" >/dev/null 2>&1 || true
    for _ in $(seq "$runs"); do
      local start=$(date +%s%N); bash -c "$command" >/dev/null; times+=($(( ($(date +%s%N) - start) / 1000 )))
    done
    printf '%s\n' "${times[@]}" | sort -n | awk -v n="$name" '{a[NR]=$1} END {printf "%-22s median %8.1f ms  (%d runs)\n", n, a[int((NR+1)/2)]/1000, NR}'
  fi
}

echo "== (a) claude-coord claims, end to end against $URL (token cached after the first run) =="
measure claims-aot "$RUNS" "$AOT_BIN claims"
measure claims-dotnet-tool "$RUNS" "$TOOL_BIN claims"
measure claims-by-hand "$NAIVE_RUNS" "bash -c '$NAIVE_CLAIMS'"
echo "== (b) token computation ($COMMITS commits, $PLANS plan files) =="
measure token-one-pass "$RUNS" "$AOT_BIN token --no-cache"
measure token-by-hand "$NAIVE_RUNS" "bash $ROOT/bench/cli/naive-token.sh context main"
measure token-cached "$RUNS" "$AOT_BIN token"
echo "raw results: $RESULTS"
