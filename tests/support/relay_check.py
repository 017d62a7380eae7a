"""Normalize events with Sentry Relay's own normalizer and report what Relay finds invalid.

Usage: VENV/bin/python relay_check.py < events.json > results.json

stdin: a JSON array of event payloads. stdout: a JSON array, one entry per event, in order:
  {"normalized": <event as Relay would store it>, "errors": [<human-readable problem>, ...]}

Relay reports a problem in two places: the top-level `errors` list, and `_meta` entries with an `err` list next to the
value it rejected or removed. Both are gathered, because some problems show up in only one of them.
"""

import json
import sys

from sentry_relay.processing import StoreNormalizer


def meta_errors(meta, path, out):
    if not isinstance(meta, dict):
        return
    for key, value in meta.items():
        if key == "":
            for err in value.get("err", []) if isinstance(value, dict) else []:
                out.append(f"_meta at {path or '<root>'}: {json.dumps(err)} (original value: {json.dumps(value.get('val'))})")
        else:
            meta_errors(value, f"{path}.{key}" if path else str(key), out)


def check(event):
    normalized = StoreNormalizer().normalize_event(event)
    problems = [f"errors: {json.dumps(e)}" for e in normalized.get("errors") or []]
    meta_errors(normalized.get("_meta"), "", problems)
    return {"normalized": normalized, "errors": problems}


def main():
    events = json.load(sys.stdin)
    results = []
    for event in events:
        try:
            results.append(check(event))
        except Exception as e:  # Relay rejecting the payload outright is a finding too, not a harness crash
            results.append({"normalized": None, "errors": [f"normalizer raised {type(e).__name__}: {e}"]})
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
