#!/usr/bin/env python3
"""Validates every line of taskstep --json output files against docs/events.schema.json.

usage: validate_events.py SCHEMA FILE...   exit 0: all valid; 1: a line is invalid (printed);
77: python3-jsonschema is not installed (the test says SKIPPED).
"""
import json
import sys

try:
    import jsonschema
except ImportError:
    print("python3-jsonschema is not installed")
    sys.exit(77)

schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
bad = 0
for path in sys.argv[2:]:
    for number, line in enumerate(open(path, encoding="utf-8"), 1):
        try:
            event = json.loads(line)
        except ValueError as e:
            print(f"{path}:{number}: not JSON ({e}): {line!r}")
            bad += 1
            continue
        for e in validator.iter_errors(event):
            print(f"{path}:{number}: {e.message}: {line.strip()}")
            bad += 1
sys.exit(1 if bad else 0)
