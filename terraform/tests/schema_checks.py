"""Offline stand-in for part of `terraform validate`: every argument and
nested block must exist in the AWS provider's schema (aws_provider_schema.json,
extracted by extract_schema.py), every `aws_x.name.attr` reference must name a
declared resource and an attribute it has, and every var./local. must exist."""

import json
import re
from pathlib import Path

from tfmodel import META, refs

SCHEMA_FILE = Path(__file__).resolve().parent / "aws_provider_schema.json"
META_ARGS = {"count", "for_each", "depends_on", "lifecycle", "provider", "__file__"}
REF = re.compile(r"(?<![\w.])(data\.)?(aws_\w+)\.(\w+)((?:\[[^\]]*\])*)(?:\.(\w+))?")


def load_schema():
    return json.loads(SCHEMA_FILE.read_text())


def _check_body(body, node, where, errors):
    for key, value in body.items():
        if key in META or key in META_ARGS:
            continue
        if key == "dynamic":
            for entry in value:
                for label, dyn in entry.items():
                    child = node.get(label, "missing")
                    if not isinstance(child, dict):
                        errors.append(f"{where}: dynamic {label!r} is not a block of the schema")
                        continue
                    for content in dyn.get("content", []):
                        _check_body(content, child, f"{where}.{label}", errors)
            continue
        if key not in node:
            errors.append(f"{where}: unknown argument or block {key!r}")
            continue
        child = node[key]
        if isinstance(child, dict) and isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    _check_body(item, child, f"{where}.{key}", errors)


def argument_errors(m, schema):
    errors = []
    for kind, declared in (("resource", m.resources), ("data", m.data)):
        for rtype, named in declared.items():
            if not rtype.startswith("aws_"):
                continue
            entry = schema[kind].get(rtype)
            if entry is None:
                errors.append(f"{kind} {rtype}: not in {SCHEMA_FILE.name}; regenerate it (extract_schema.py)")
                continue
            for name, body in named.items():
                _check_body(body, entry["args"], f"{body['__file__']}: {rtype}.{name}", errors)
    for parsed in m.files.values():
        for entry in parsed.get("provider", []):
            for pname, body in entry.items():
                if pname == "aws":
                    _check_body(body, schema["provider_config"], "provider aws", errors)
    return errors


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, dict):
        for k, v in value.items():
            if k not in META:
                yield from _strings(v)


def reference_errors(m, schema):
    errors = []
    everything = list(m.files.values())
    for text in _strings(everything):
        for is_data, rtype, name, _index, attribute in REF.findall(text):
            kind, declared = ("data", m.data) if is_data else ("resource", m.resources)
            if name not in declared.get(rtype, {}):
                errors.append(f"reference to undeclared {kind} {rtype}.{name}")
                continue
            entry = schema[kind].get(rtype)
            if attribute and entry and attribute not in entry["attrs"]:
                errors.append(f"{kind} {rtype}.{name} has no attribute {attribute!r}")
    used = refs(everything)
    for r in sorted(used):
        if r.startswith("var.") and r[4:] not in m.variables:
            errors.append(f"{r} is not declared")
        if r.startswith("local.") and r[6:] not in m.locals:
            errors.append(f"{r} is not defined")
    for name in m.variables:
        if f"var.{name}" not in used:
            errors.append(f"variable {name} is declared but never used")
    return errors
