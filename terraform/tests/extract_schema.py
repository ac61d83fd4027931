#!/usr/bin/env python3
"""Extract the argument names of the AWS resources this module uses from the
npm package @cdktf/provider-aws (code generated from the provider's schema),
into aws_provider_schema.json, which test_schema.py checks every .tf against.

`terraform validate` needs the provider binary, which this machine cannot
download; the generated package carries the same schema and comes from the
npm registry. Regenerate after adding a resource type:

    cd /tmp && npm pack @cdktf/provider-aws@21.22.1 && tar xzf cdktf-provider-aws-21.22.1.tgz
    python3 terraform/tests/extract_schema.py /tmp/package

(21.22.1 was generated from hashicorp/aws 6.25.0; see its package.json "cdktf".)
"""

import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TF_DIR = HERE.parent
OUT = HERE / "aws_provider_schema.json"

# `key: <conversion>(...)` lines of a `return { ... }` object in generated code.
KEY_LINE = re.compile(r"^\s+(\w+): (.*?),?$", re.M)
# A nested block's converter: `fooBarToTerraform`, but not cdktf's own `cdktf.stringToTerraform`.
NESTED = re.compile(r"(?<![.\w])([a-z]\w*)ToTerraform\b")
FUNC = re.compile(r"^function (\w+)ToTerraform\(struct\) \{\n(.*?)^\}", re.M | re.S)
RETURN_OBJ = re.compile(r"return \{\n(.*?)\n\s*\};", re.S)
SYNTH = re.compile(r"synthesizeAttributes\(\) \{\n\s*return \{\n(.*?)\n\s*\};", re.S)
GETTER = re.compile(r"get(?:String|Number|Boolean|List|StringMap|NumberMap|BooleanMap|NumberList|Any|BooleanList)Attribute\('(\w+)'\)")
TYPE = re.compile(r'tfResourceType = "(\w+)"')


def fields(obj_text):
    """{key: nested converter name or None} of one generated `return {…}` object."""
    out = {}
    for key, value in KEY_LINE.findall(obj_text):
        nested = NESTED.search(value)
        out[key] = nested.group(1) if nested else None
    return out


def tree(conv, converters, depth=0):
    """Nested argument tree: a dict per block, None per plain argument."""
    if depth > 12:
        raise RuntimeError("schema nesting too deep")
    return {k: (tree(converters[c], converters, depth + 1) if c else None) for k, c in conv.items()}


def extract(js):
    converters = {}
    for name, body in FUNC.findall(js):
        ret = RETURN_OBJ.search(body)
        if ret:
            converters[name] = fields(ret.group(1))
        elif "return {};" in body:
            converters[name] = {}  # a block without arguments
    synth = SYNTH.search(js)
    if not synth:
        raise RuntimeError("no synthesizeAttributes")
    args = tree(fields(synth.group(1)), converters)
    # Attributes readable in references (arguments and computed ones) are the
    # main class's getters, which come after the last nested helper class.
    main_start = max(js.rfind("extends cdktf.TerraformResource"), js.rfind("extends cdktf.TerraformDataSource"), js.rfind("extends cdktf.TerraformProvider"))
    attrs = sorted(set(GETTER.findall(js[main_start:])) | set(args))
    return {"args": args, "attrs": attrs}


def used_types():
    text = "\n".join(p.read_text() for p in TF_DIR.glob("*.tf"))
    return (
        set(re.findall(r'^resource "(aws_\w+)"', text, re.M)),
        set(re.findall(r'^data "(aws_\w+)"', text, re.M)),
    )


def main():
    pkg = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/package")
    meta = json.loads((pkg / "package.json").read_text())
    resources, data = used_types()
    schema = {
        "source": f"{meta['name']}@{meta['version']}",
        "provider": meta.get("cdktf", {}).get("provider", {}),
        "resource": {},
        "data": {},
        "provider_config": extract((pkg / "lib/provider/index.js").read_text())["args"],
    }
    for d in sorted((pkg / "lib").iterdir()):
        index = d / "index.js"
        if not index.is_file() or d.name == "provider":
            continue
        js = index.read_text()
        m = TYPE.search(js)
        if not m:
            continue
        kind = "data" if d.name.startswith("data-aws-") else "resource"
        wanted = data if kind == "data" else resources
        if m.group(1) in wanted:
            schema[kind][m.group(1)] = extract(js)
    missing = (resources - set(schema["resource"])) | (data - set(schema["data"]))
    if missing:
        sys.exit(f"not in the package: {sorted(missing)}")
    OUT.write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n")
    print(f"{OUT}: {len(schema['resource'])} resources, {len(schema['data'])} data sources from {schema['source']}")


if __name__ == "__main__":
    main()
