#!/usr/bin/env python3
"""Generates the benchmark repository of SPEC.md's performance targets with git fast-import.

OUT/origin.git  bare repository: COMMITS commits on main, PLANS plan files in context/; the first half of the
                plan files are written by the first commit and never touched again ("last changed early in
                history"), the other half change every 40 commits up to the end.
OUT/work        a clone of it (origin/main set), for the CLI.

Usage: make-repo.py OUT [--commits 20000] [--plans 50]
"""
import argparse
import os
import shutil
import subprocess
import sys


def plan(index, revision):
    tasks = ",".join(
        '{"id":"plan%02d-task-%d","name":"Task %d of plan %d (rev %d)","status":"pending","priority":%d,'
        '"blocked_by":null,"steps":[],"acceptance_criteria":[]}' % (index, t, t, index, revision, 1 + (index + t) % 5)
        for t in range(3))
    return ('{"plan_name":"Plan %d","last_updated":"2026-01-01","tasks":[%s]}\n' % (index, tasks)).encode()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--commits", type=int, default=20000)
    parser.add_argument("--plans", type=int, default=50)
    args = parser.parse_args()

    origin = os.path.join(args.out, "origin.git")
    work = os.path.join(args.out, "work")
    shutil.rmtree(args.out, ignore_errors=True)
    os.makedirs(args.out)
    env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1")
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", origin], check=True, env=env)
    subprocess.run(["git", "-C", origin, "config", "uploadpack.allowFilter", "true"], check=True, env=env)

    early = args.plans // 2
    revisions = [0] * args.plans
    stream = subprocess.Popen(["git", "-C", origin, "fast-import", "--quiet"], stdin=subprocess.PIPE, env=env)
    out = stream.stdin

    def blob(path, data):
        out.write(b"M 100644 inline %s\ndata %d\n" % (path.encode(), len(data)))
        out.write(data)
        out.write(b"\n")

    for number in range(args.commits):
        when = 1767225600 + number * 60  # 2026-01-01, one commit a minute
        message = b"commit %d" % number
        out.write(b"commit refs/heads/main\n")
        out.write(b"mark :%d\n" % (number + 1))
        out.write(b"author Bench <bench@example.com> %d +0000\n" % when)
        out.write(b"committer Bench <bench@example.com> %d +0000\n" % when)
        out.write(b"data %d\n%s\n" % (len(message), message))
        if number > 0:
            out.write(b"from :%d\n" % number)
        if number == 0:
            blob("README.md", b"# bench\n")
            for index in range(args.plans):
                blob("context/plan-%02d.json" % index, plan(index, 0))
        else:
            blob("src/file-%03d.txt" % (number % 100), b"line %d\n" % number)
            if number % 40 == 0 and args.plans > early:
                index = early + (number // 40) % (args.plans - early)
                revisions[index] += 1
                blob("context/plan-%02d.json" % index, plan(index, revisions[index]))
        out.write(b"\n")

    out.close()
    if stream.wait() != 0:
        sys.exit("git fast-import failed")
    subprocess.run(["git", "-C", origin, "gc", "-q", "--aggressive"], check=True, env=env)
    subprocess.run(["git", "clone", "-q", origin, work], check=True, env=env)
    subprocess.run(["git", "-C", work, "checkout", "-q", "-b", "claude/bench"], check=True, env=env)
    print("generated %s: %d commits, %d plan files (%d last changed in the first commit)" % (args.out, args.commits, args.plans, early))


if __name__ == "__main__":
    main()
