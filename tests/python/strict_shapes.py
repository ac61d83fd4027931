"""A strict walk of a decoded request or response body over botocore shapes.

botocore's own validator checks Python parameters before serialization and
skips enums and numeric ranges; this walker enforces what the model says:
JSON/CBOR types, enums, numeric min/max, string, list and map lengths, and
(when `check_patterns` is set) string patterns. Structures, timestamps and
blobs look different on each protocol's wire, so the per-service checkers
(`cloudwatch_check.py` here, `mediaconvert/tests/model_check.py`) subclass
`ShapeChecker` and supply `check_structure`, `check_timestamp` and
`check_blob`.
"""

import re


class ShapeChecker:
    check_patterns = False

    def __init__(self, model):
        self.model = model
        self.shapes = model["shapes"]
        self.errors = []

    def error(self, path, kind, detail):
        self.errors.append({"path": path or "<root>", "kind": kind, "detail": detail})

    def check(self, value, shape_name, path, **structure_opts):
        """Checks `value` against `shape_name`; `structure_opts` reach only
        the top-level `check_structure` (e.g. MediaConvert's body_only)."""
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
            handler(value, shape_name, shape, path, **structure_opts)
        else:
            handler(value, shape_name, shape, path)

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
        pattern = shape.get("pattern") if self.check_patterns else None
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

    def length(self, n, shape, path, unit):
        lo, hi = shape.get("min"), shape.get("max")
        if lo is not None and n < lo:
            self.error(path, "too short", f"{n} {unit} < minimum {lo}")
        if hi is not None and n > hi:
            self.error(path, "too long", f"{n} {unit} > maximum {hi}")
