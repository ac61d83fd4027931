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
import sys
from pathlib import Path

# The shared walker lives with the other model checks, in tests/python/.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "python"))
from strict_shapes import ShapeChecker  # noqa: E402

try:
    import botocore
    from botocore.loaders import Loader
except ImportError as e:  # fail loudly: the Rust test relies on this exit code
    print(f"botocore is not importable with {sys.executable}: {e}", file=sys.stderr)
    sys.exit(2)

SERVICE = "mediaconvert"


class Checker(ShapeChecker):
    check_patterns = True

    def check_structure(self, value, name, shape, path, body_only=False):
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
