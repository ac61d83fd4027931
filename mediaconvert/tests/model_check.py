#!/usr/bin/env python3
"""Strict check of MediaConvert REST-JSON bodies against AWS's own API model.

The model is botocore's `mediaconvert/<version>/service-2.json(.gz)`, loaded
with botocore's loader. botocore's own validator checks Python parameters
before serialization and skips enums and numeric ranges; this one walks the
*wire* JSON (camelCase `locationName`s) and enforces everything the model
says: known members only, required members, JSON types, enums, numeric
min/max, string and list lengths, string patterns, and that members bound
to the URI, headers or query string do not appear in the body.

Usage:
    model_check.py request  OPERATION FILE   # body of OPERATION's input
    model_check.py response OPERATION FILE   # body of OPERATION's output
    model_check.py shape    SHAPE     FILE   # any shape, e.g. an error shape
    model_check.py version                   # botocore and model versions
    model_check.py has      SHAPE            # {"exists": bool}: shapes differ by model version

Prints {"errors": [{"path", "kind", "detail"}, ...]} and exits 0 when the
body conforms, 1 when it does not, 2 when the check itself cannot run.
"""

import json
import re
import sys

try:
    import botocore
    from botocore.loaders import Loader
except ImportError as e:  # fail loudly: the Rust test relies on this exit code
    print(f"botocore is not importable with {sys.executable}: {e}", file=sys.stderr)
    sys.exit(2)

SERVICE = "mediaconvert"


class Checker:
    def __init__(self, model):
        self.shapes = model["shapes"]
        self.operations = model["operations"]
        self.errors = []

    def error(self, path, kind, detail):
        self.errors.append({"path": path or "<root>", "kind": kind, "detail": detail})

    def check(self, value, shape_name, path, body_only=False):
        shape = self.shapes[shape_name]
        kind = shape["type"]
        if value is None:
            self.error(path, "wrong type", f"null where {shape_name} ({kind}) is expected")
            return
        handler = getattr(self, "check_" + kind, None)
        if handler is None:
            self.error(path, "unsupported", f"shape type {kind} of {shape_name}")
            return
        if kind == "structure":
            handler(value, shape_name, shape, path, body_only)
        else:
            handler(value, shape_name, shape, path)

    def check_structure(self, value, name, shape, path, body_only):
        if not isinstance(value, dict):
            self.error(path, "wrong type", f"{type(value).__name__} where structure {name} is expected")
            return
        wire = {}
        for member, ref in shape.get("members", {}).items():
            wire_name = ref.get("locationName", member)
            wire[wire_name] = (member, ref)
        for key, item in value.items():
            sub = f"{path}.{key}" if path else key
            if key not in wire:
                hint = [w for w in wire if w.lower() == key.lower()]
                extra = f" (the wire name is {hint[0]!r})" if hint else ""
                self.error(sub, "unknown member", f"{name} has no member {key!r}{extra}")
                continue
            member, ref = wire[key]
            if body_only and ref.get("location") in ("uri", "header", "headers", "querystring"):
                self.error(sub, "misplaced member", f"{member} belongs in the {ref['location']}, not the body")
                continue
            self.check(item, ref["shape"], sub)
        for member in shape.get("required", []):
            ref = shape["members"][member]
            if body_only and ref.get("location") in ("uri", "header", "headers", "querystring"):
                continue
            wire_name = ref.get("locationName", member)
            if wire_name not in value:
                sub = f"{path}.{wire_name}" if path else wire_name
                self.error(sub, "missing required", f"{name}.{member} is required")

    def check_list(self, value, name, shape, path):
        if not isinstance(value, list):
            self.error(path, "wrong type", f"{type(value).__name__} where list {name} is expected")
            return
        self.length(len(value), shape, path, "items")
        for i, item in enumerate(value):
            self.check(item, shape["member"]["shape"], f"{path}[{i}]")

    def check_map(self, value, name, shape, path):
        if not isinstance(value, dict):
            self.error(path, "wrong type", f"{type(value).__name__} where map {name} is expected")
            return
        self.length(len(value), shape, path, "entries")
        for key, item in value.items():
            self.check(key, shape["key"]["shape"], f"{path}{{key {key!r}}}")
            self.check(item, shape["value"]["shape"], f"{path}[{key!r}]")

    def check_string(self, value, name, shape, path):
        if not isinstance(value, str):
            self.error(path, "wrong type", f"{value!r} where string {name} is expected")
            return
        if "enum" in shape and value not in shape["enum"]:
            self.error(path, "bad enum", f"{value!r} is not one of {name}: {', '.join(shape['enum'])}")
        self.length(len(value), shape, path, "characters")
        pattern = shape.get("pattern")
        if pattern is not None:
            try:
                ok = re.search(pattern, value) is not None
            except re.error as e:
                self.error(path, "unsupported", f"pattern {pattern!r} of {name} does not compile: {e}")
                return
            if not ok:
                self.error(path, "pattern", f"{value!r} does not match {name}'s pattern {pattern!r}")

    def number(self, value, name, shape, path, integral):
        is_num = isinstance(value, int) or (not integral and isinstance(value, float))
        if isinstance(value, bool) or not is_num:
            what = "integer" if integral else "number"
            self.error(path, "wrong type", f"{value!r} where {what} {name} is expected")
            return
        lo, hi = shape.get("min"), shape.get("max")
        if lo is not None and value < lo:
            self.error(path, "out of range", f"{value} < minimum {lo} of {name}")
        if hi is not None and value > hi:
            self.error(path, "out of range", f"{value} > maximum {hi} of {name}")

    def check_integer(self, value, name, shape, path):
        self.number(value, name, shape, path, True)

    check_long = check_integer

    def check_double(self, value, name, shape, path):
        self.number(value, name, shape, path, False)

    check_float = check_double

    def check_boolean(self, value, name, shape, path):
        if not isinstance(value, bool):
            self.error(path, "wrong type", f"{value!r} where boolean {name} is expected")

    def check_timestamp(self, value, name, shape, path):
        # REST-JSON sends epoch seconds unless the shape names a string format.
        fmt = shape.get("timestampFormat", "unixTimestamp")
        ok = isinstance(value, str) if fmt in ("iso8601", "rfc822") else (
            isinstance(value, (int, float)) and not isinstance(value, bool))
        if not ok:
            self.error(path, "wrong type", f"{value!r} is not a {fmt} timestamp")

    def check_blob(self, value, name, shape, path):
        if not isinstance(value, str):
            self.error(path, "wrong type", f"{value!r} where base64 blob {name} is expected")

    def length(self, n, shape, path, unit):
        lo, hi = shape.get("min"), shape.get("max")
        if lo is not None and n < lo:
            self.error(path, "too short", f"{n} {unit} < minimum {lo}")
        if hi is not None and n > hi:
            self.error(path, "too long", f"{n} {unit} > maximum {hi}")


def main(argv):
    loader = Loader()
    model = loader.load_service_model(SERVICE, "service-2")
    if len(argv) == 2 and argv[1] == "version":
        print(json.dumps({"botocore": botocore.__version__,
                          "apiVersion": model["metadata"]["apiVersion"]}))
        return 0
    if len(argv) == 3 and argv[1] == "has":
        print(json.dumps({"exists": argv[2] in model["shapes"]}))
        return 0
    if len(argv) != 4 or argv[1] not in ("request", "response", "shape"):
        print(__doc__, file=sys.stderr)
        return 2
    mode, name, path = argv[1:]
    with open(path, encoding="utf-8") as f:
        body = json.load(f)
    checker = Checker(model)
    if mode == "shape":
        if name not in model["shapes"]:
            print(f"unknown shape {name}", file=sys.stderr)
            return 2
        checker.check(body, name, "")
    else:
        if name not in model["operations"]:
            print(f"unknown operation {name}", file=sys.stderr)
            return 2
        op = model["operations"][name]
        key = "input" if mode == "request" else "output"
        checker.check(body, op[key]["shape"], "", body_only=(mode == "request"))
    print(json.dumps({"errors": checker.errors}, indent=1))
    return 1 if checker.errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
