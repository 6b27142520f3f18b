#!/usr/bin/env python3
"""Checks a file of `cprof trace` against the rules of the Trace Event Format (Chrome's JSON Object Format,
which Perfetto UI and chrome://tracing read) and against the profile it came from:
  - an object with a "traceEvents" array; "displayTimeUnit" "ms" or "ns"; "otherData" an object;
  - every event an object with a one-letter "ph" cprof writes (X complete, i instant, M metadata), integer
    pid and tid, a string name;
  - X: ts and dur numbers >= 0 (microseconds), a string cat, args an object; on one thread the complete
    events nest (each one inside the one open around it, or after it): what a viewer draws as a stack;
  - i: a ts, and "s" one of g, p, t;
  - M: process_name / thread_name with args.name a string, *_sort_index with an integer args.sort_index;
  - every tid with events is named by a thread_name;
  - against the profile (--profile P.json, optional): one thread_name per profile thread, in order, and as
    many X events on the threads as the profile's timeline has exits plus calls still open.
Usage: trace_check.py TRACE.json [--profile P.json] [--frames N]   (N: at least N frame events)
Prints one line per failed rule and exits 1, or prints "trace ok: ..." and exits 0."""
import json
import sys

failures = []


def fail(message):
    failures.append(message)


def number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_event(i, e, names, spans, instants):
    where = "traceEvents[%d]" % i
    if not isinstance(e, dict):
        return fail(where + ": not an object")
    ph = e.get("ph")
    if ph not in ("X", "i", "M"):
        return fail(where + ": ph %r is not one cprof writes" % (ph,))
    for key in ("pid", "tid"):
        if not isinstance(e.get(key), int) or isinstance(e.get(key), bool):
            fail(where + ": %s is not an integer" % key)
    if not isinstance(e.get("name"), str):
        fail(where + ": name is not a string")
    if ph == "M":
        args = e.get("args")
        if e.get("name") in ("process_name", "thread_name"):
            if not isinstance(args, dict) or not isinstance(args.get("name"), str):
                fail(where + ": %s without a string args.name" % e.get("name"))
            elif e["name"] == "thread_name":
                names[e["tid"]] = args["name"]
        elif e.get("name") in ("process_sort_index", "thread_sort_index"):
            if not isinstance(args, dict) or not isinstance(args.get("sort_index"), int):
                fail(where + ": sort index without an integer args.sort_index")
        else:
            fail(where + ": unknown metadata %r" % e.get("name"))
        return
    if not number(e.get("ts")) or e["ts"] < 0:
        fail(where + ": ts is not a number >= 0")
    if ph == "i":
        if e.get("s") not in ("g", "p", "t"):
            fail(where + ": an instant event's s must be g, p or t")
        instants.append(e)
        return
    if not number(e.get("dur")) or e["dur"] < 0:
        fail(where + ": dur is not a number >= 0")
    if not isinstance(e.get("cat"), str):
        fail(where + ": cat is not a string")
    if "args" in e and not isinstance(e["args"], dict):
        fail(where + ": args is not an object")
    spans.setdefault(e.get("tid"), []).append(e)


def check_nesting(tid, events):
    # in integer ns (ts and dur are microseconds with 3 decimals), by start, the longer first at equal
    # starts (the outer one); a stack of the open events' ends
    spans = sorted((round(e["ts"] * 1000), round(e["dur"] * 1000), e["name"]) for e in events)
    spans.sort(key=lambda s: (s[0], -s[1]))
    stack = []
    for start, dur, name in spans:
        while stack and stack[-1] <= start:
            stack.pop()
        if stack and start + dur > stack[-1]:
            return fail("tid %d: %r at %d ns ends after the event around it (%d ns)" % (tid, name, start, stack[-1]))
        stack.append(start + dur)


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    trace = json.load(open(argv[1], encoding="utf-8"))
    profile_path = argv[argv.index("--profile") + 1] if "--profile" in argv else None
    frames_wanted = int(argv[argv.index("--frames") + 1]) if "--frames" in argv else 0
    if not isinstance(trace, dict) or not isinstance(trace.get("traceEvents"), list):
        fail("not an object with a traceEvents array")
        trace = {"traceEvents": []}
    if trace.get("displayTimeUnit", "ms") not in ("ms", "ns"):
        fail("displayTimeUnit is neither ms nor ns")
    if "otherData" in trace and not isinstance(trace["otherData"], dict):
        fail("otherData is not an object")
    names, spans, instants = {}, {}, []
    for i, e in enumerate(trace["traceEvents"]):
        check_event(i, e, names, spans, instants)
    for tid, events in spans.items():
        if tid not in names:
            fail("tid %r has events but no thread_name" % (tid,))
        check_nesting(tid, events)
    for e in instants:
        if e.get("tid") not in names:
            fail("instant event %r on an unnamed tid" % e.get("name"))
    frame_marks = [e for e in instants if e.get("cat") == "frame"]
    if len(frame_marks) < frames_wanted:
        fail("%d frame marks, expected at least %d" % (len(frame_marks), frames_wanted))
    scopes = sum(1 for events in spans.values() for e in events if e.get("cat") == "scope")
    if profile_path:
        profile = json.load(open(profile_path, encoding="utf-8"))
        threads = [t["name"] for t in profile["threads"]]
        for t, name in enumerate(threads):
            if names.get(t + 1) != name:
                fail("thread %d is %r in the profile, %r in the trace" % (t, name, names.get(t + 1)))
        events = profile["timeline"]["events"]
        exits = sum(1 for e in events if e[1] == 1)
        enters = sum(1 for e in events if e[1] == 0)
        # every exit ends one call (its entry in the timeline or before it); entries never exited are open
        if scopes < exits or scopes > exits + enters:
            fail("%d scope events for %d exits and %d entries in the profile's timeline" % (scopes, exits, enters))
    if failures:
        for f in failures[:40]:
            print("trace_check: " + f)
        return 1
    print("trace ok: %d events, %d scope calls on %d threads, %d frame marks" % (
        len(trace["traceEvents"]), scopes, len(names), len(frame_marks)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
