#!/usr/bin/env bash
# The benchmark suite (bench/README.md): one command that measures the service as a client sees it and writes
# bench/results/<name>.md with every figure, the command that produced it, and the machine's state.
#
#   bench/run.sh [--quick] [--no-build] [--name NAME]
#
#   --quick      short rounds (a couple of minutes in all), for iterating; results go to bench/results/quick.md
#   --no-build   reuse bench/.build from the last run instead of publishing the service and load generator
#   --name NAME  results file name (default: full, or quick with --quick)
#
# Environment (optional): BENCH_DURATION (seconds per scenario per round), BENCH_ROUNDS, BENCH_WARMUP,
# BENCH_SEED_CLAIMS (claims seeded for the scale test), BENCH_SKIP (space-separated phases to skip:
# sqlite scale postgres cli), TMPDIR (where the databases live: the fsync probe runs in the same folder).
#
# Needs: the .NET SDK, git, python3, curl; PostgreSQL server + pgbench (Debian: postgresql) for the
# PostgreSQL phase, which is skipped with a note when they are missing. Runs as root (as CI does) or as a
# user that can start PostgreSQL itself.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

QUICK=0 BUILD=1 NAME=""
while [ $# -gt 0 ]; do
  case $1 in
    --quick) QUICK=1 ;;
    --no-build) BUILD=0 ;;
    --name) NAME=${2:?--name needs a value}; shift ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/run.sh: unknown option '$1' (see bench/run.sh --help)" >&2; exit 64 ;;
  esac
  shift
done
if [ "$QUICK" = 1 ]; then
  NAME=${NAME:-quick}
  DURATION=${BENCH_DURATION:-2} ROUNDS=${BENCH_ROUNDS:-1} WARMUP=${BENCH_WARMUP:-1}
  SEED_CLAIMS=${BENCH_SEED_CLAIMS:-1000000}
else
  NAME=${NAME:-full}
  DURATION=${BENCH_DURATION:-3} ROUNDS=${BENCH_ROUNDS:-6} WARMUP=${BENCH_WARMUP:-2}
  SEED_CLAIMS=${BENCH_SEED_CLAIMS:-1000000}
fi
SKIP=" ${BENCH_SKIP:-} "
skipped() { [[ "$SKIP" == *" $1 "* ]]; }

BUILD_DIR=$ROOT/bench/.build
WORK=$(mktemp -d "${TMPDIR:-/tmp}/claude-coord-bench.XXXXXX")
RAW=$ROOT/bench/results/raw/$NAME
rm -rf "$RAW" && mkdir -p "$RAW"
LOADGEN=$BUILD_DIR/loadgen/claude-coord-loadgen
SERVICE=$BUILD_DIR/service/claude-coord-service
REPO_LISTED=bench/repo-0000   # the seeded repository whose 1,000 claims are all active
REPO_CLAIMS=bench/repo-0001   # the repository every claim load goes to

log() { printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
note() { printf '%s\n' "$*" >> "$RAW/notes.txt"; log "$*"; }

# --- cleanup: only what this script started ----------------------------------------------------------
SERVICE_PIDS=()
PG_BIN="" PG_DIR=""
cleanup() {
  for pid in "${SERVICE_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${SERVICE_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "$PG_DIR" ]; then
    pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# --- machine facts at start ----------------------------------------------------------------------------
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
STARTED_AT=$(date -u +%Y-%m-%dT%H:%M:%SZ)
log "load average at start: $LOAD_START; work folder $WORK"

# --- build -------------------------------------------------------------------------------------------
if [ "$BUILD" = 1 ] || [ ! -x "$LOADGEN" ] || [ ! -x "$SERVICE" ]; then
  log "publishing the service and the load generator (Release)"
  dotnet publish src/ClaudeCoord.Service -c Release -o "$BUILD_DIR/service" -v q -nologo >"$RAW/build.log" 2>&1 \
    || { cat "$RAW/build.log" >&2; exit 1; }
  dotnet publish bench/ClaudeCoord.LoadGen -c Release -o "$BUILD_DIR/loadgen" -v q -nologo >>"$RAW/build.log" 2>&1 \
    || { cat "$RAW/build.log" >&2; exit 1; }
fi

# --- each measurement: its command line goes to the report, its JSON to raw/ ------------------------------
# quote ARGS...: the words as a shell would need them typed (plain words stay plain).
quote() {
  local word out=()
  for word in "$@"; do
    if [[ "$word" =~ ^[A-Za-z0-9_./:=,@%+-]+$ ]]; then out+=("$word"); else out+=("'${word//\'/\'\\\'\'}'"); fi
  done
  printf '%s' "${out[*]}"
}

# step LABEL COMMAND...: runs COMMAND, stdout to raw/LABEL.json, and records the command for the report.
step() {
  local label=$1; shift
  printf '%s\t%s\n' "$label" "$(quote "$@")" >> "$RAW/commands.tsv"
  log "$label"
  "$@" > "$RAW/$label.json"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# --- the repository every service whitelists: a bare origin with one plan file ---------------------------
ORIGIN=$WORK/origin.git
git init -q --bare -b main "$ORIGIN"
git -C "$ORIGIN" config uploadpack.allowFilter true
(
  export GIT_AUTHOR_NAME=Bench GIT_COMMITTER_NAME=Bench GIT_AUTHOR_EMAIL=bench@example.com GIT_COMMITTER_EMAIL=bench@example.com
  git init -q -b main "$WORK/seed-work"
  mkdir -p "$WORK/seed-work/context"
  printf '{"plan_name":"Bench","last_updated":"2026-01-01","tasks":[{"id":"bench-task","name":"Bench","status":"pending","priority":1,"blocked_by":null,"steps":[],"acceptance_criteria":[]}]}\n' \
    > "$WORK/seed-work/context/bench.json"
  git -C "$WORK/seed-work" add -A
  git -C "$WORK/seed-work" commit -q -m "bench plan"
  git -C "$WORK/seed-work" push -q "$ORIGIN" main
)

# write_config DIR URL PROVIDER: a config in DIR whitelisting the two bench repositories (git source).
# tip_max_age is a day so that the claim path never fetches (the benchmark measures claims, not git);
# claim_ttl / completed_retention cover the seeded claims' ages, and the sweep runs once, at start.
write_config() {
  local dir=$1 url=$2 provider=$3
  mkdir -p "$dir"
  {
    printf '[server]\nurls = "%s"\n\n' "$url"
    printf '[storage]\nprovider = "%s"\nsqlite_path = "claims.db"\npostgres_env = "CLAUDE_COORD_BENCH_POSTGRES"\ndata_dir = "data"\n\n' "$provider"
    printf '[lifecycle]\nclaim_ttl = "30d"\ncompleted_retention = "30d"\nbranch_check_interval = "24h"\ntip_max_age = "24h"\n'
    for repo in "$REPO_LISTED" "$REPO_CLAIMS"; do
      printf '\n[[repos]]\nname = "%s"\nplan_path = "context"\nmain_branch = "main"\nsource = "git"\nurl = "%s"\n' "$repo" "$ORIGIN"
    done
  } > "$dir/service.toml"
}

# start_service DIR: starts the published service on DIR/service.toml (log in DIR/service.log), waits until
# it is ready and its start-up sweep is done; sets STARTED_PID.
start_service() {
  local dir=$1 url started=$SECONDS
  url=$(sed -n 's/^urls = "\(.*\)"/\1/p' "$dir/service.toml")
  "$SERVICE" --config "$dir/service.toml" >"$dir/service.log" 2>&1 &
  STARTED_PID=$!
  SERVICE_PIDS+=("$STARTED_PID")
  local waited=0
  until curl -fsS -o /dev/null "$url/readyz" 2>/dev/null; do
    if ! kill -0 "$STARTED_PID" 2>/dev/null || [ $waited -ge 600 ]; then
      echo "bench/run.sh: the service in $dir did not become ready; its log:" >&2
      tail -n 30 "$dir/service.log" >&2
      exit 1
    fi
    sleep 0.2; waited=$((waited + 1))
  done
  waited=0
  until grep -q "sweep: " "$dir/service.log" || [ $waited -ge 300 ]; do sleep 0.2; waited=$((waited + 1)); done
  log "service $STARTED_PID ($(basename "$dir")) ready in $((SECONDS - started)) s"
}

stop_service() {
  local pid=$1 started=$SECONDS
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  log "service $pid stopped in $((SECONDS - started)) s"
  local kept=()
  for p in "${SERVICE_PIDS[@]}"; do [ "$p" = "$pid" ] || kept+=("$p"); done
  SERVICE_PIDS=("${kept[@]}")
}

# Peak RSS is VmHWM; writing 5 to clear_refs resets it, so that the figure is the peak of one run.
reset_peak_rss() { echo 5 > "/proc/$1/clear_refs" 2>/dev/null || note "could not reset the peak RSS of pid $1 (VmHWM is then the peak since start)"; }
peak_rss_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }

COMMON=(--duration "$DURATION" --rounds "$ROUNDS" --warmup "$WARMUP" --origin "$ORIGIN")
echo "{}" > "$RAW/rss.json"
record_rss() { python3 - "$RAW/rss.json" "$1" "$2" <<'PY'
import json, sys
path, key, kib = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = json.load(open(path)); data[key] = kib
json.dump(data, open(path, "w"), indent=1)
PY
}

# The service's own count of its group commits (GET /metrics): only the claims of a step write, so the step's
# committed writes ÷ its commits is the claims that each durable commit (one fsync) carried.
store_commits() {
  curl -fsS "$1/metrics" | awk '{sub(/\{\}$/, "", $1)} $1 == "claude_coord_store_commits_total" {c=$2} $1 == "claude_coord_store_committed_writes_total" {w=$2} END {printf "%d %d", c, w}'
}
echo "{}" > "$RAW/commits.json"
record_commits() { python3 - "$RAW/commits.json" "$1" "$2" "$3" <<'PY'
import json, sys
path, key, before, after = sys.argv[1], sys.argv[2], sys.argv[3].split(), sys.argv[4].split()
data = json.load(open(path))
data[key] = {"commits": int(after[0]) - int(before[0]), "writes": int(after[1]) - int(before[1])}
json.dump(data, open(path, "w"), indent=1)
PY
}

# --- 1, 2, 4: claim throughput and latency on SQLite, the HTTP floor, the disk's fsync rate, peak RSS ----
if ! skipped sqlite; then
  SQLITE_DIR=$WORK/sqlite
  write_config "$SQLITE_DIR" "http://127.0.0.1:$(free_port)" sqlite
  start_service "$SQLITE_DIR"
  SQLITE_PID=$STARTED_PID
  URL=$(sed -n 's/^urls = "\(.*\)"/\1/p' "$SQLITE_DIR/service.toml")
  for c in 1 16 64; do
    [ "$c" = 64 ] && reset_peak_rss "$SQLITE_PID"
    COMMITS_BEFORE=$(store_commits "$URL")
    step "sqlite-c$c" "$LOADGEN" run --concurrency "$c" "${COMMON[@]}" --id-prefix "sqlite-c$c" --watch-pid "$SQLITE_PID" \
      --scenario "claim,claim,$URL,$REPO_CLAIMS" --scenario "healthz,healthz,$URL" --scenario "fsync,fsync,$SQLITE_DIR"
    record_commits "sqlite-c$c" "$COMMITS_BEFORE" "$(store_commits "$URL")"
    if [ "$c" = 64 ]; then
      record_rss sqlite-c64 "$(peak_rss_kib "$SQLITE_PID")"
      # What the resident memory is made of right after the run (anonymous: heaps; file: mapped runtime and assemblies).
      for part in RssAnon RssFile RssShmem; do record_rss "sqlite-c64-$part" "$(awk -v k="$part:" '$1 == k {print $2}' "/proc/$SQLITE_PID/status")"; done
    fi
  done
  # Where a claim's time goes: the same server answering refusals at successive depths of the claim path.
  step sqlite-ladder-c64 "$LOADGEN" run --concurrency 64 "${COMMON[@]}" --id-prefix sqlite-ladder --watch-pid "$SQLITE_PID" \
    --scenario "healthz,healthz,$URL" --scenario "refused-403-unlisted,claim-unlisted,$URL,bench/not-listed" \
    --scenario "refused-401-token,claim-badtoken,$URL,$REPO_CLAIMS" --scenario "claim,claim,$URL,$REPO_CLAIMS"
  record_rss sqlite-since-start-end "$(awk '/^VmRSS:/ {print $2}' "/proc/$SQLITE_PID/status")"
  stop_service "$SQLITE_PID"
fi

# --- 3: scale: a million claims over 1,000 repositories vs an empty database ---------------------------------
if ! skipped scale; then
  SEEDED_DIR=$WORK/seeded EMPTY_DIR=$WORK/empty
  write_config "$SEEDED_DIR" "http://127.0.0.1:$(free_port)" sqlite
  write_config "$EMPTY_DIR" "http://127.0.0.1:$(free_port)" sqlite
  # The service creates the schema; then, stopped, its file gets the claims.
  start_service "$SEEDED_DIR"; stop_service "$STARTED_PID"
  step seed "$LOADGEN" seed-sqlite --db "$SEEDED_DIR/claims.db" --claims "$SEED_CLAIMS" --repos 1000 \
    --repo-prefix bench/repo- --all-active-repo 0 --active-per-repo 50
  start_service "$SEEDED_DIR"; SEEDED_PID=$STARTED_PID
  start_service "$EMPTY_DIR"; EMPTY_PID=$STARTED_PID
  SEEDED_URL=$(sed -n 's/^urls = "\(.*\)"/\1/p' "$SEEDED_DIR/service.toml")
  EMPTY_URL=$(sed -n 's/^urls = "\(.*\)"/\1/p' "$EMPTY_DIR/service.toml")
  step scale-list "$LOADGEN" run --concurrency 1 "${COMMON[@]}" --id-prefix scale-list --watch-pid "$SEEDED_PID" \
    --scenario "list-1000-active,claims,$SEEDED_URL,$REPO_LISTED" --scenario "healthz,healthz,$SEEDED_URL"
  for c in 1 16; do
    step "scale-claim-c$c" "$LOADGEN" run --concurrency "$c" "${COMMON[@]}" --id-prefix "scale-c$c" \
      --scenario "empty-db,claim,$EMPTY_URL,$REPO_CLAIMS" --scenario "million-db,claim,$SEEDED_URL,$REPO_CLAIMS"
  done
  stop_service "$SEEDED_PID"; stop_service "$EMPTY_PID"
fi

# --- PostgreSQL: a throw-away cluster (as .ci/run starts one), the service on it, and pgbench ----------------
pg_as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if ! skipped postgres; then
  PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/pgbench" ]; then
    note "PostgreSQL phase skipped: no PostgreSQL server/pgbench under /usr/lib/postgresql (Debian: apt-get install postgresql)"
  else
    if [ "$(id -u)" = 0 ]; then id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres; fi
    PG_DIR=$WORK/pg
    mkdir -p "$PG_DIR"
    if [ "$(id -u)" = 0 ]; then chmod 755 "$WORK"; chown postgres "$PG_DIR"; fi
    PG_PORT=$(free_port)
    pg_as_owner "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 >/dev/null
    pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w -t 120 \
      -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DIR -c max_connections=300 -c fsync=on -c synchronous_commit=on" start >/dev/null
    PG_DIR_VERSION=$("$PG_BIN/postgres" --version | awk '{print $3}')
    echo "$PG_DIR_VERSION" > "$RAW/postgres-version.txt"
    PG_SERVICE_DIR=$WORK/postgres
    write_config "$PG_SERVICE_DIR" "http://127.0.0.1:$(free_port)" postgres
    export CLAUDE_COORD_BENCH_POSTGRES="Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=postgres"
    start_service "$PG_SERVICE_DIR"; PG_SERVICE_PID=$STARTED_PID
    PG_URL=$(sed -n 's/^urls = "\(.*\)"/\1/p' "$PG_SERVICE_DIR/service.toml")
    # The store's claim statement (PostgresClaimStore.ClaimOnAsync's fast path), one distinct task and session each.
    cat > "$WORK/pgbench-claim.sql" <<'SQL'
\set n random(1, 9000000000000000)
INSERT INTO claude_coord_claims (repo, task_id, session_id, branch, plan_file, claimed_at)
VALUES ('bench/pgbench', 'pgbench-task-' || :n, 'pgbench-session-' || :n, 'bench/pgbench-' || :n, 'context/bench.json', claude_coord_now())
ON CONFLICT DO NOTHING
RETURNING id, repo, task_id, session_id, branch, plan_file, claimed_at, branch_seen, branch_seen_ahead;
SQL
    cp "$WORK/pgbench-claim.sql" "$RAW/pgbench-claim.sql"
    for c in 1 16 64; do
      [ "$c" = 64 ] && reset_peak_rss "$PG_SERVICE_PID"
      step "postgres-c$c" "$LOADGEN" run --concurrency "$c" "${COMMON[@]}" --id-prefix "pg-c$c" --watch-pid "$PG_SERVICE_PID" \
        --scenario "claim,claim,$PG_URL,$REPO_CLAIMS" --scenario "healthz,healthz,$PG_URL" \
        --scenario "pgbench,pgbench,host=127.0.0.1 port=$PG_PORT user=postgres dbname=postgres" \
        --pgbench "$PG_BIN/pgbench" --pgbench-script "$WORK/pgbench-claim.sql"
      [ "$c" = 64 ] && record_rss postgres-c64 "$(peak_rss_kib "$PG_SERVICE_PID")"
    done
    stop_service "$PG_SERVICE_PID"
  fi
fi

# --- 5, 6: the CLI's wall time and token computation (bench/cli/run.sh, wired in here) ---------------------
# The Native AOT binary is published fresh into bench/.build/cli (bench/cli/run.sh would otherwise reuse
# whatever src/ClaudeCoord.Cli/bin holds). The generated repository is kept in bench/.build/cli-bench between
# runs (bench/cli/run.sh regenerates it when the commit count differs). --quick: 2,000 commits, not 20,000.
if ! skipped cli; then
  if ! compgen -c clang | grep -qE "^clang(-[0-9]+)?$" || ! dpkg -s zlib1g-dev >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      log "installing clang and zlib1g-dev (Native AOT) from Debian packages"
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang zlib1g-dev; } >"$RAW/apt.log" 2>&1 || true
    fi
  fi
  case "$(uname -m)" in x86_64) CLI_RID=linux-x64 ;; aarch64) CLI_RID=linux-arm64 ;; *) CLI_RID="" ;; esac
  AOT_BIN=$BUILD_DIR/cli/claude-coord
  if [ -n "$CLI_RID" ] && { [ "$BUILD" = 1 ] || [ ! -x "$AOT_BIN" ]; }; then
    log "publishing the CLI (Native AOT, $CLI_RID)"
    dotnet publish src/ClaudeCoord.Cli -r "$CLI_RID" -c Release -o "$BUILD_DIR/cli" -v q -nologo >"$RAW/build-cli.log" 2>&1 || rm -f "$AOT_BIN"
  fi
  if [ ! -x "$AOT_BIN" ]; then
    note "CLI phase skipped: the Native AOT CLI could not be published (needs clang and zlib1g-dev; see raw/$NAME/build-cli.log)"
  else
    CLI_ENV=(BENCH_DIR="$BUILD_DIR/cli-bench" SERVICE_DLL="$BUILD_DIR/service/claude-coord-service.dll" AOT_BIN="$AOT_BIN")
    if [ "$QUICK" = 1 ]; then CLI_ENV+=(COMMITS="${BENCH_CLI_COMMITS:-2000}" RUNS=5 NAIVE_RUNS=2); fi
    printf '%s\t%s\n' cli "env $(quote "${CLI_ENV[@]}") bash bench/cli/run.sh" >> "$RAW/commands.tsv"
    log "cli"
    env "${CLI_ENV[@]}" bash bench/cli/run.sh > "$RAW/cli.txt" 2>"$RAW/cli.err" \
      || note "bench/cli/run.sh failed (exit $?); the end of its output: $(tail -n 5 "$RAW/cli.err" | tr '\n' ' ')"
    echo "${CLI_ENV[*]}" | grep -o 'COMMITS=[0-9]*' > "$RAW/cli-commits.txt" || echo "COMMITS=20000" > "$RAW/cli-commits.txt"
  fi
fi

# --- machine facts at the end, and the report ---------------------------------------------------------------
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
log "load average at end: $LOAD_END"
DISK_DEV=$(findmnt -no SOURCE -T "$WORK" 2>/dev/null || echo "?")
DISK_NAME=$(basename "$(readlink -f "$DISK_DEV" 2>/dev/null || echo "$DISK_DEV")")
python3 - "$RAW/machine.json" <<PY
import json, sys
json.dump({
  "name": "$NAME", "quick": $QUICK == 1, "started_at": "$STARTED_AT", "finished_at": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "nproc": "$(nproc)", "cpu": """$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)""",
  "memory": """$(awk '/^MemTotal:/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)""",
  "kernel": "$(uname -r)", "load_start": "$LOAD_START", "load_end": "$LOAD_END",
  "disk": """$(findmnt -no SOURCE,FSTYPE,OPTIONS -T "$WORK" 2>/dev/null | head -n 1)""",
  "disk_rotational": "$(cat "/sys/block/$DISK_NAME/queue/rotational" 2>/dev/null || echo "?")",
  "work_dir": "$WORK", "dotnet": "$(dotnet --version)",
  "commit": "$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src bench 2>/dev/null || echo '+local changes')",
  "duration_s": $DURATION, "rounds": $ROUNDS, "warmup_s": $WARMUP, "seed_claims": $SEED_CLAIMS,
}, open(sys.argv[1], "w"), indent=1)
PY
python3 bench/report.py "$RAW" > "bench/results/$NAME.md"
log "wrote bench/results/$NAME.md"
