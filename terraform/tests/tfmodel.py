"""Load every .tf file of a Terraform module into one plain model, with the
few helpers the tests need to follow references. The parser is checkov's
HCL2 parser (bc-python-hcl2), which wraps each attribute value in a
one-element list and each block in a list of dicts."""

import re
from dataclasses import dataclass, field
from pathlib import Path

import hcl2

MODULE_DIR = Path(__file__).resolve().parent.parent
META = {"__start_line__", "__end_line__"}


@dataclass
class Module:
    root: Path
    resources: dict = field(default_factory=dict)  # type -> name -> body
    data: dict = field(default_factory=dict)  # type -> name -> body
    variables: dict = field(default_factory=dict)  # name -> body
    locals: dict = field(default_factory=dict)  # name -> value (unwrapped)
    outputs: dict = field(default_factory=dict)
    files: dict = field(default_factory=dict)  # file name -> parsed dict

    def resource(self, rtype, name):
        try:
            return self.resources[rtype][name]
        except KeyError:
            raise AssertionError(f"resource {rtype}.{name} is missing") from None

    def datasource(self, dtype, name):
        try:
            return self.data[dtype][name]
        except KeyError:
            raise AssertionError(f"data {dtype}.{name} is missing") from None

    def var_default(self, name):
        body = self.variables.get(name)
        if body is None:
            raise AssertionError(f"variable {name} is not declared")
        if "default" not in body:
            raise AssertionError(f"variable {name} has no default")
        return one(body["default"])

    def resolve(self, value, depth=0):
        """Follow `${var.x}` (to its default) and `${local.x}` when the whole
        value is that one reference; anything else is returned as is."""
        if depth > 10 or not isinstance(value, str):
            return value
        m = re.fullmatch(r"\$\{var\.(\w+)\}", value)
        if m:
            return self.resolve(self.var_default(m.group(1)), depth + 1)
        m = re.fullmatch(r"\$\{local\.(\w+)\}", value)
        if m:
            if m.group(1) not in self.locals:
                raise AssertionError(f"local.{m.group(1)} is not defined")
            return self.resolve(self.locals[m.group(1)], depth + 1)
        return value


def one(value):
    """The value of an attribute (the parser wraps it in a one-element list)."""
    if isinstance(value, list) and len(value) == 1:
        return value[0]
    return value


def attr(body, key, default=None):
    if key not in body:
        if default is not None:
            return default
        raise AssertionError(f"attribute {key} missing (lines {body.get('__start_line__')}-{body.get('__end_line__')})")
    return one(body[key])


def blocks(body, key):
    """Nested blocks named `key` (a list, possibly empty)."""
    value = body.get(key, [])
    return [b for b in value if isinstance(b, dict)]


def refs(value):
    """Every `type.name` resource reference, `data.type.name` and
    `var.x`/`local.x` inside a value (strings, lists, dicts, recursively)."""
    found = set()
    if isinstance(value, str):
        for m in re.finditer(r"\b((?:data\.)?aws_\w+\.\w+|random_\w+\.\w+|var\.\w+|local\.\w+)", value):
            found.add(m.group(1))
    elif isinstance(value, list):
        for v in value:
            found |= refs(v)
    elif isinstance(value, dict):
        for k, v in value.items():
            if k not in META:
                found |= refs(v)
    return found


def load(root=MODULE_DIR):
    mod = Module(root=Path(root))
    for path in sorted(Path(root).glob("*.tf")):
        with path.open() as f:
            parsed = hcl2.load(f)
        mod.files[path.name] = parsed
        for kind, target in (("resource", mod.resources), ("data", mod.data)):
            for entry in parsed.get(kind, []):
                for rtype, named in entry.items():
                    for name, body in named.items():
                        if name in target.setdefault(rtype, {}):
                            raise AssertionError(f"{kind} {rtype}.{name} declared twice")
                        body["__file__"] = path.name
                        target[rtype][name] = body
        for entry in parsed.get("variable", []):
            mod.variables.update(entry)
        for entry in parsed.get("locals", []):
            for k, v in entry.items():
                if k not in META:
                    mod.locals[k] = one(v)
        for entry in parsed.get("output", []):
            mod.outputs.update(entry)
    return mod
