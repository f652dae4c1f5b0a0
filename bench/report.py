#!/usr/bin/env python3
"""Turns one bench/run.sh run (bench/results/raw/<name>/) into the Markdown report bench/results/<name>.md.

Every figure comes from the JSON the load generator wrote in that run; every table names the command behind it.
Usage: report.py RAW_DIR > bench/results/NAME.md
"""
import json
import os
import sys

RAW = sys.argv[1]


def load(name):
    path = os.path.join(RAW, name)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def text(name):
    path = os.path.join(RAW, name)
    return open(path).read() if os.path.exists(path) else None


machine = load("machine.json")
commands = {}
for line in (text("commands.tsv") or "").splitlines():
    label, _, command = line.partition("\t")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(RAW)))))
    commands[label] = command.replace(root + "/", "").replace(machine["work_dir"], "$WORK")
rss = load("rss.json") or {}
group_commits = load("commits.json") or {}
out = []
summary = []  # (area, target, measured, verdict)


def emit(line=""):
    out.append(line)


def scenario(run, name):
    return next((s for s in run["scenarios"] if s["name"] == name), None) if run else None


def ms(value):
    return "–" if value is None else ("%.2f" % value if value < 10 else "%.1f" % value)


def rate(value):
    return "–" if value is None else "{:,.0f}".format(value)


def ratio(a, b):
    return a / b if a is not None and b else None


def verdict(ok, how_far):
    return "met" if ok else "**missed** (" + how_far + ")"


def round_ratios(a, b):
    pairs = [x / y for x, y in zip(a["round_per_second"], b["round_per_second"]) if y]
    if len(pairs) < 2:
        return ""
    return " (rounds %.2f–%.2f)" % (min(pairs), max(pairs))


def command_block(*labels):
    lines = [commands[l] for l in labels if l in commands]
    if lines:
        emit("```")
        emit("\n".join(lines))
        emit("```")
        emit()


def failures_note(run):
    for s in run["scenarios"]:
        if s.get("failed"):
            emit("- **%s: %d failed** (%s); first: `%s`" % (s["name"], s["failed"], ", ".join(
                "%s × %d" % kv for kv in s["failures"].items()), (s.get("first_failure") or "").replace("`", "'")[:200]))


def cpu(value):
    return "–" if value is None else "%.0f" % value


def latency_table(runs, names):
    emit("| concurrency | scenario | ok | per second | mean ms | p50 ms | p99 ms | p99.9 ms | max ms | failed | service CPU µs/op | client CPU µs/op |")
    emit("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for c, run in runs:
        for name in names:
            s = scenario(run, name)
            if s:
                http = s["kind"] not in ("fsync", "pgbench")
                emit("| %d | %s | %s | %s | %s | %s | %s | %s | %s | %d | %s | %s |" % (
                    c, name, "{:,}".format(s["succeeded"]), rate(s["per_second"]), ms(s.get("mean_ms")), ms(s.get("p50_ms")),
                    ms(s.get("p99_ms")), ms(s.get("p999_ms")), ms(s.get("max_ms")), s["failed"],
                    cpu(s.get("service_cpu_us_per_op")) if http else "–", cpu(s.get("client_cpu_us_per_op")) if http else "–"))
    emit()


# --- header ---------------------------------------------------------------------------------------------
emit("# Benchmark results: `%s`" % machine["name"])
emit()
emit("Written by `bench/run.sh%s` (%s to %s, commit %s). Each figure is from one run of the load generator "
     "(`bench/ClaudeCoord.LoadGen`, its own process on 127.0.0.1) against the published Release service; the "
     "scenarios of one command alternate in rounds (A B C, C B A, ...) so that the machine's load weighs on "
     "each alike, and the ratios between them are the figures that count. %d round(s) of %s s per scenario "
     "after %s s of warm-up. Latencies are of successful requests, measured by the client: send to last byte. "
     "CPU µs/op: CPU time (user + system) of the service process and of the load generator during a scenario's "
     "rounds, divided by its successful operations (10 ms resolution, so small counts are rough)." % (
         " --quick" if machine["quick"] else "", machine["started_at"], machine["finished_at"], machine["commit"],
         machine["rounds"], machine["duration_s"], machine["warmup_s"]))
emit()
emit("| machine | |")
emit("|---|---|")
emit("| CPUs (nproc) | %s × %s |" % (machine["nproc"], machine["cpu"] or "?"))
emit("| memory | %s |" % machine["memory"])
emit("| load average (1, 5, 15 min) at start | %s |" % machine["load_start"])
emit("| load average (1, 5, 15 min) at end | %s |" % machine["load_end"])
emit("| disk of the databases and the fsync probe | `%s` (rotational: %s) |" % (machine["disk"], machine["disk_rotational"]))
emit("| kernel, .NET SDK | %s, %s |" % (machine["kernel"], machine["dotnet"]))
seed = load("seed.json")
pg_version = (text("postgres-version.txt") or "").strip()
if seed or pg_version:
    emit("| SQLite, PostgreSQL | %s, %s |" % (seed["sqlite_version"] if seed else "?", pg_version or "not run"))
emit()
notes = text("notes.txt")
if notes:
    for line in notes.strip().splitlines():
        emit("- Note: " + line)
    emit()

body = []  # sections after the summary
out_main, out = out, body

# --- SQLite: throughput, floor, fsync, RSS ---------------------------------------------------------------
sqlite_runs = [(c, load("sqlite-c%d.json" % c)) for c in (1, 16, 64)]
sqlite_runs = [(c, r) for c, r in sqlite_runs if r]
if sqlite_runs:
    emit("## 1, 2, 4. Claims on SQLite, the HTTP floor, the disk's fsync rate, peak RSS")
    emit()
    emit("`POST /claim` of a distinct task by a distinct session per request (repo `bench/repo-0001`, git source, "
         "`tip_max_age = 24h` so the claim path never fetches), `GET /healthz` of the same server, and a single writer "
         "doing 4 KiB write + `fsync` in a loop in the folder of the SQLite file (same file system). The store is "
         "durable: WAL, `synchronous=FULL`, group commit (one transaction and one fsync per batch of queued claims).")
    emit()
    latency_table(sqlite_runs, ["claim", "healthz", "fsync"])
    emit("| concurrency | claims/s ÷ healthz/s | claims/s ÷ fsyncs/s (claims per fsync) | claims per commit of the service (its own count) |")
    emit("|---:|---:|---:|---:|")
    for c, run in sqlite_runs:
        claim, health, fsync = scenario(run, "claim"), scenario(run, "healthz"), scenario(run, "fsync")
        counted = group_commits.get("sqlite-c%d" % c)
        per_commit = "%.2f (%d claims in %d commits)" % (counted["writes"] / counted["commits"], counted["writes"], counted["commits"]) \
            if counted and counted["commits"] else "-"
        emit("| %d | %.2f%s | %.2f%s | %s |" % (c, ratio(claim["per_second"], health["per_second"]), round_ratios(claim, health),
                                         ratio(claim["per_second"], fsync["per_second"]), round_ratios(claim, fsync), per_commit))
        if c == 64:
            r = ratio(claim["per_second"], health["per_second"])
            summary.append(("SQLite", "claims/s ÷ healthz/s at concurrency 64 ≥ 0.5", "%.2f" % r,
                            verdict(r >= 0.5, "%.0f%% short" % ((0.5 - r) / 0.5 * 100))))
            f = ratio(claim["per_second"], fsync["per_second"])
            summary.append(("SQLite", "claims per single-writer fsync at concurrency 64 > 5", "%.2f" % f,
                            verdict(f > 5, "%.0f%% short" % ((5 - f) / 5 * 100))))
        if c == 1:
            f = ratio(claim["per_second"], fsync["per_second"])
            summary.append(("SQLite", "claims per single-writer fsync at concurrency 1 ≈ 1 (0.8–1.25)", "%.2f" % f,
                            verdict(0.8 <= f <= 1.25, "below: HTTP and the service add to each fsync" if f < 0.8 else "above: a claim would cost less than an fsync")))
    emit()
    for _, run in sqlite_runs:
        failures_note(run)
    if "sqlite-c64" in rss:
        mb = rss["sqlite-c64"] * 1024 / 1e6
        parts = ", ".join("%s %.1f MB" % (k, rss["sqlite-c64-" + k] * 1024 / 1e6) for k in ("RssAnon", "RssFile", "RssShmem") if "sqlite-c64-" + k in rss)
        emit("Peak RSS of the service during the concurrency-64 run (VmHWM, reset before the run): **%.1f MB** (%d KiB)%s." % (
            mb, rss["sqlite-c64"], "; right after it: " + parts if parts else ""))
        emit()
        summary.append(("SQLite", "peak RSS under the concurrency-64 run < 150 MB", "%.1f MB" % mb, verdict(mb < 150, "%.0f MB over" % (mb - 150))))
    command_block("sqlite-c1", "sqlite-c16", "sqlite-c64")
    ladder = load("sqlite-ladder-c64.json")
    if ladder:
        emit("### Where a claim's time goes (concurrency 64)")
        emit()
        emit("The same server answering `POST /claim` at successive depths of its path, alternating rounds: "
             "`refused-403-unlisted` stops at the whitelist (body read, JSON parsed, every field checked, one log "
             "line), `refused-401-token` goes on through the whitelist and the token judgement (the tip is cached, "
             "so no git), and `claim` adds the store (the write, group-committed). Cost is in units of one "
             "`GET /healthz` (healthz/s ÷ scenario/s).")
        emit()
        health = scenario(ladder, "healthz")
        emit("| scenario | per second | p50 ms | p99 ms | cost (healthz = 1) | service CPU µs/op | client CPU µs/op | failed |")
        emit("|---|---:|---:|---:|---:|---:|---:|---:|")
        for s in ladder["scenarios"]:
            emit("| %s | %s | %s | %s | %.1f | %s | %s | %d |" % (s["name"], rate(s["per_second"]), ms(s.get("p50_ms")), ms(s.get("p99_ms")),
                                                      ratio(health["per_second"], s["per_second"]) or 0, cpu(s.get("service_cpu_us_per_op")),
                                                      cpu(s.get("client_cpu_us_per_op")), s["failed"]))
        emit()
        failures_note(ladder)
        command_block("sqlite-ladder-c64")

# --- scale ----------------------------------------------------------------------------------------------
scale = [(c, load("scale-claim-c%d.json" % c)) for c in (1, 16)]
scale = [(c, r) for c, r in scale if r]
listing = load("scale-list.json")
if seed or scale or listing:
    emit("## 3. Scale: a million claims")
    emit()
    if seed:
        emit("Seeded straight into the service's SQLite file (the service created the schema, then was stopped; "
             "`seed-sqlite` checks the schema version and columns): **%s claims over %d repository names** "
             "(`bench/repo-0000` … `bench/repo-%04d`), %s active and %s completed, in %.1f s. `bench/repo-0000` holds "
             "1,000 claims, all active; every other repository 50 active and the rest completed. The service whitelists "
             "two of those names (`bench/repo-0000` for `GET /claims`, `bench/repo-0001` for claims): the indexes hold "
             "all million rows, only the whitelist is small (1,000 whitelisted git repositories would mean 1,000 mirrors "
             "to fetch, which is not what this measures)." % (
                 "{:,}".format(seed["claims"]), seed["repos"], seed["repos"] - 1, "{:,}".format(seed["active"]),
                 "{:,}".format(seed["completed"]), seed["seconds"]))
        emit()
    if scale:
        emit("`POST /claim` against two services at once, alternating rounds: one on a new, empty database and one on "
             "the seeded database.")
        emit()
        latency_table(scale, ["empty-db", "million-db"])
        emit("| concurrency | p50 million ÷ p50 empty | claims/s million ÷ empty |")
        emit("|---:|---:|---:|")
        for c, run in scale:
            e, m = scenario(run, "empty-db"), scenario(run, "million-db")
            p = ratio(m["p50_ms"], e["p50_ms"])
            emit("| %d | %.2f | %.2f |" % (c, p, ratio(m["per_second"], e["per_second"])))
            summary.append(("Scale", "`POST /claim` p50 with 1M claims ≤ 1.2 × empty database (concurrency %d)" % c, "%.2f ×" % p,
                            verdict(p <= 1.2, "%.0f%% over" % ((p - 1.2) / 1.2 * 100))))
        emit()
        for _, run in scale:
            failures_note(run)
    if listing:
        l, h = scenario(listing, "list-1000-active"), scenario(listing, "healthz")
        emit("`GET /claims` of `bench/repo-0000` (%s active claims when the run started; the whole JSON read by the "
             "client) at concurrency 1, alternating with `GET /healthz` of the same server:" % l.get("active_claims_at_start"))
        emit()
        latency_table([(1, listing)], ["list-1000-active", "healthz"])
        failures_note(listing)
        summary.append(("Scale", "`GET /claims` of a repo with 1,000 active claims, p99 < 20 ms", "%s ms" % ms(l["p99_ms"]),
                        verdict(l["p99_ms"] is not None and l["p99_ms"] < 20, "%.1f ms over" % ((l["p99_ms"] or 0) - 20))))
    command_block("seed", "scale-list", "scale-claim-c1", "scale-claim-c16")

# --- PostgreSQL -------------------------------------------------------------------------------------------
pg_runs = [(c, load("postgres-c%d.json" % c)) for c in (1, 16, 64)]
pg_runs = [(c, r) for c, r in pg_runs if r]
if pg_runs:
    emit("## PostgreSQL")
    emit()
    emit("A throw-away cluster (`initdb`, trust auth, 127.0.0.1, `fsync=on`, `synchronous_commit=on`, defaults "
         "otherwise) on the same disk; the service on it, and `pgbench` running the store's claim statement with the "
         "same number of clients (`-M prepared`, one distinct task and session per transaction):")
    emit()
    script = text("pgbench-claim.sql")
    if script:
        emit("```sql")
        emit(script.strip())
        emit("```")
        emit()
    latency_table(pg_runs, ["claim", "healthz", "pgbench"])
    emit("pgbench reports a mean latency only (its percentiles need per-transaction logs).")
    emit()
    emit("| concurrency | claims/s ÷ pgbench tps | claims/s ÷ healthz/s |")
    emit("|---:|---:|---:|")
    for c, run in pg_runs:
        claim, health, bench = scenario(run, "claim"), scenario(run, "healthz"), scenario(run, "pgbench")
        r = ratio(claim["per_second"], bench["per_second"])
        emit("| %d | %s%s | %.2f |" % (c, "–" if r is None else "%.2f" % r, round_ratios(claim, bench) if r else "",
                                      ratio(claim["per_second"], health["per_second"])))
        if r is not None:
            summary.append(("PostgreSQL", "claims/s ≥ 0.8 × pgbench, same statement, concurrency %d" % c, "%.2f" % r,
                            verdict(r >= 0.8, "%.0f%% short" % ((0.8 - r) / 0.8 * 100))))
    emit()
    for _, run in pg_runs:
        failures_note(run)
    if "postgres-c64" in rss:
        emit("Peak RSS of the service on PostgreSQL during the concurrency-64 run: %.1f MB." % (rss["postgres-c64"] * 1024 / 1e6))
        emit()
    command_block("postgres-c1", "postgres-c16", "postgres-c64")

# --- CLI ------------------------------------------------------------------------------------------------
cli = text("cli.txt")
if cli:
    commits = (text("cli-commits.txt") or "COMMITS=20000").strip().split("=")[1]
    emit("## 5, 6. CLI wall time and token computation")
    emit()
    emit("`bench/cli/run.sh` (see bench/README.md, \"CLI\"): a generated repository of %s commits and 50 plan files "
         "(half last changed in the first commit), a local service whitelisting it, hyperfine. Its output:" % "{:,}".format(int(commits)))
    emit()
    emit("```")
    emit(cli.strip())
    emit("```")
    emit()
    medians = {}
    for line in cli.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[1] == "median":
            medians[parts[0]] = float(parts[2])
    aot, by_hand = medians.get("claims-aot"), medians.get("claims-by-hand")
    if aot is not None:
        summary.append(("CLI", "`claude-coord claims` (Native AOT), median ≤ 50 ms (%s commits, 50 plan files)" % "{:,}".format(int(commits)),
                        "%.1f ms" % aot, verdict(aot <= 50, "%.0f%% over" % ((aot - 50) / 50 * 100))))
    if aot is not None and by_hand:
        summary.append(("CLI", "`claude-coord claims` never slower than by hand (git log per file + sha256sum + curl)",
                        "%.1f ms vs %.1f ms (%.0f× faster)" % (aot, by_hand, by_hand / aot), verdict(aot <= by_hand, "slower")))
    one_pass, token_by_hand, cached = medians.get("token-one-pass"), medians.get("token-by-hand"), medians.get("token-cached")
    if one_pass and token_by_hand:
        summary.append(("Token", "one pass over history vs one `git log -1` per plan file (no target; reported)",
                        "%.1f ms vs %.1f ms (%.0f×)%s" % (one_pass, token_by_hand, token_by_hand / one_pass,
                                                          "; cached %.1f ms" % cached if cached else ""), "reported"))
    command_block("cli")

# --- assemble: summary first ------------------------------------------------------------------------------
out = out_main
emit("## Summary")
emit()
emit("| area | target | measured | verdict |")
emit("|---|---|---:|---|")
for area, target, measured, result in summary:
    emit("| %s | %s | %s | %s |" % (area, target, measured, result))
emit()
print("\n".join(out_main + body))
