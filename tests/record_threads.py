#!/usr/bin/env python3
"""Checks a profile that `cprof record` wrote: every thread named on the command line (THREAD=FUNCTION)
is in it with samples, and the function is a sampled frame of that thread's tree. Exact structure only:
how many samples each has is bench material (bench/sample_shares.sh). Usage:
  record_threads.py P.json THREADS_EXPECTED main=main_work thread-2=work_one ..."""
import json
import sys


def main():
    profile = json.load(open(sys.argv[1]))
    expected_threads = int(sys.argv[2])
    nodes, sites, threads = profile["nodes"], profile["sites"], profile["threads"]
    root_of = {t["root"]: t["name"] for t in threads}
    thread_of = []
    for node in nodes:  # a node's parent comes before it
        thread_of.append(root_of.get(len(thread_of)) if node["parent"] is None else thread_of[node["parent"]])
    failures = []
    if len(threads) != expected_threads:
        failures.append("%d threads, expected %d: %s" % (len(threads), expected_threads, [t["name"] for t in threads]))
    for pair in sys.argv[3:]:
        thread, function = pair.split("=")
        samples = sum(n.get("samples", 0) for n, t in zip(nodes, thread_of) if t == thread)
        named = [n for n, t in zip(nodes, thread_of)
                 if t == thread and n.get("sampled") and n["site"] is not None and sites[n["site"]]["name"] == function]
        print("thread %-9s %5d samples, %s %s" % (thread, samples, function, "sampled" if named else "MISSING"))
        if samples == 0 or not named:
            failures.append("thread %s: %d samples, %s %s" % (thread, samples, function, "found" if named else "not found"))
    if profile.get("sampling", {}).get("samples", 0) == 0:
        failures.append("no sampling figures")
    for failure in failures:
        print("FAIL " + failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
