#!/usr/bin/env python3
"""Checks a CloudWatch request captured from the Rust SDK against AWS's own model.

The Rust SDK speaks Smithy RPC v2 CBOR to CloudWatch. moto cannot serve that
protocol and botocore 1.35 cannot decode it, so this checker decodes the
body with cbor2 (an implementation independent of the SDK's) and checks:

- the envelope, per the protocol's specification
  (smithy.io, "Smithy RPC v2 CBOR protocol"): POST to
  /service/<service shape name>/operation/<operation>, header
  `smithy-protocol: rpc-v2-cbor`, Content-Type `application/cbor`, the body
  gzip-compressed only when Content-Encoding says so, and SigV4 signed for the
  service's signing name;
- the body against botocore's `cloudwatch/2010-08-01/service-2.json` (loaded
  with botocore's loader): known members (wire names are the member names),
  required members, types (timestamps as CBOR date/time tags), enums,
  numeric ranges, string and list lengths, and finite doubles.

Usage:
    cloudwatch_check.py request OPERATION FILE
        FILE is JSON: {"method", "path", "headers": {name: value}, "body_b64"}
    cloudwatch_check.py selftest
        broken requests must each be reported

Prints {"errors": [{"path", "kind", "detail"}], "decoded": <body as JSON>}
and exits 0 when the request conforms, 1 when it does not, 2 when the check
itself cannot run (missing botocore or cbor2: the Rust test fails on it).
"""

import base64
import datetime
import gzip
import importlib.metadata
import json
import math
import sys

try:
    import botocore
    import cbor2
    from botocore.loaders import Loader
except ImportError as e:  # fail loudly: the Rust test relies on this exit code
    print(f"botocore and cbor2 must be importable with {sys.executable}: {e}", file=sys.stderr)
    sys.exit(2)

from strict_shapes import ShapeChecker  # noqa: E402  (this file's own folder)

SERVICE = "cloudwatch"
# The service shape's name in the Smithy model. botocore models that carry
# the JSON protocols (1.42 and later) name it as metadata.targetPrefix.
SERVICE_SHAPE = "GraniteServiceVersion20100801"


class Checker(ShapeChecker):
    def envelope(self, operation, req):
        meta = self.model["metadata"]
        target = meta.get("targetPrefix", SERVICE_SHAPE)
        if target != SERVICE_SHAPE:
            self.error("<envelope>", "service", f"model names the service {target!r}")
        headers = {k.lower(): v for k, v in req["headers"].items()}
        want_path = f"/service/{SERVICE_SHAPE}/operation/{operation}"
        if req["method"] != "POST":
            self.error("<envelope>", "method", f"{req['method']} instead of POST")
        if req["path"] != want_path:
            self.error("<envelope>", "path", f"{req['path']!r} instead of {want_path!r}")
        if headers.get("smithy-protocol") != "rpc-v2-cbor":
            self.error("<envelope>", "header", f"smithy-protocol is {headers.get('smithy-protocol')!r}")
        if headers.get("content-type") != "application/cbor":
            self.error("<envelope>", "header", f"content-type is {headers.get('content-type')!r}")
        if "x-amz-target" in headers:
            self.error("<envelope>", "header", "x-amz-target belongs to the JSON protocols")
        signing = meta.get("signingName", meta["endpointPrefix"])
        auth = headers.get("authorization", "")
        if not auth.startswith("AWS4-HMAC-SHA256 ") or f"/{signing}/aws4_request" not in auth:
            self.error("<envelope>", "signature", f"not SigV4 for {signing!r}: {auth[:80]!r}")
        body = base64.b64decode(req["body_b64"])
        if headers.get("content-encoding", "").lower() == "gzip":
            body = gzip.decompress(body)
        return body

    def check_structure(self, value, name, shape, path):
        if not isinstance(value, dict):
            self.error(path, "wrong type", f"{type(value).__name__} where structure {name} is expected")
            return
        members = shape.get("members", {})
        for key, item in value.items():
            sub = f"{path}.{key}" if path else str(key)
            if key not in members:
                hint = [m for m in members if m.lower() == str(key).lower()]
                extra = f" (the member is {hint[0]!r})" if hint else ""
                self.error(sub, "unknown member", f"{name} has no member {key!r}{extra}")
                continue
            self.check(item, members[key]["shape"], sub)
        for member in shape.get("required", []):
            if member not in value:
                sub = f"{path}.{member}" if path else member
                self.error(sub, "missing required", f"{name}.{member} is required")

    def number(self, value, name, shape, path, integral):
        if isinstance(value, float) and not math.isfinite(value):
            self.error(path, "not finite", f"{value!r}: CloudWatch refuses NaN and infinities")
            return
        super().number(value, name, shape, path, integral)

    def check_timestamp(self, value, name, shape, path):
        # cbor2 turns the date/time tags into datetime; a bare number is not one.
        if not isinstance(value, datetime.datetime):
            self.error(path, "wrong type", f"{value!r} is not a CBOR date/time tag")

    def check_blob(self, value, name, shape, path):
        if not isinstance(value, bytes):
            self.error(path, "wrong type", f"{value!r} where byte string {name} is expected")


def plain(value):
    """The decoded body as JSON: timestamps become epoch seconds."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


def check_request(model, operation, req):
    checker = Checker(model)
    body = checker.envelope(operation, req)
    try:
        decoded = cbor2.loads(body)
    except Exception as e:  # any decoding failure is a finding, not a crash
        checker.error("<body>", "not CBOR", str(e))
        return checker.errors, None
    checker.check(decoded, model["operations"][operation]["input"]["shape"], "")
    return checker.errors, decoded


def selftest(model):
    """A good request passes; each broken one is reported with its kind."""
    now = datetime.datetime.now(datetime.timezone.utc)
    good = {"Namespace": "VOD", "MetricData": [{
        "MetricName": "QueueDepth", "Value": 3.0, "Unit": "Count", "Timestamp": now,
        "Dimensions": [{"Name": "Environment", "Value": "vod-prod"}]}]}
    auth = "AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/monitoring/aws4_request, SignedHeaders=host, Signature=0"
    headers = {"Content-Type": "application/cbor", "smithy-protocol": "rpc-v2-cbor", "Authorization": auth}
    path = f"/service/{SERVICE_SHAPE}/operation/PutMetricData"

    def request(body, **over):
        req = {"method": "POST", "path": path, "headers": dict(headers), "body_b64": base64.b64encode(cbor2.dumps(body)).decode()}
        req["headers"].update(over.pop("headers", {}))
        req.update(over)
        return req

    def datum(drop=(), **changes):
        d = {k: v for k, v in good["MetricData"][0].items() if k not in drop}
        d.update(changes)
        return {"Namespace": "VOD", "MetricData": [d]}

    cases = [
        (request(good), []),
        (request(good, headers={"Content-Encoding": "gzip"}, body_b64=base64.b64encode(gzip.compress(cbor2.dumps(good))).decode()), []),
        (request(good, path="/"), ["path"]),
        (request(good, headers={"smithy-protocol": "rpc-v2-json"}), ["header"]),
        (request(good, headers={"Authorization": auth.replace("monitoring", "cloudwatch")}), ["signature"]),
        (request({"MetricData": good["MetricData"]}), ["missing required"]),
        (request(datum(Unit="Jobs")), ["bad enum"]),
        (request(datum(Value="3")), ["wrong type"]),
        (request(datum(Value=math.inf)), ["not finite"]),
        (request(datum(Timestamp=now.timestamp())), ["wrong type"]),
        (request(datum(drop=("MetricName",), metricName="QueueDepth")), ["unknown member", "missing required"]),
        (request(datum(Dimensions=[{"Name": "Environment"}])), ["missing required"]),
        (request(datum(Dimensions=[{"Name": "", "Value": "x"}])), ["too short"]),
    ]
    failures = []
    for i, (req, want) in enumerate(cases):
        errors, _ = check_request(model, "PutMetricData", req)
        got = sorted(e["kind"] for e in errors)
        if got != sorted(want):
            failures.append({"case": i, "want": want, "got": errors})
    print(json.dumps({"cases": len(cases), "failures": failures}, indent=1))
    return 1 if failures else 0


def main(argv):
    model = Loader().load_service_model(SERVICE, "service-2")
    if len(argv) == 2 and argv[1] == "selftest":
        return selftest(model)
    if len(argv) == 2 and argv[1] == "version":
        print(json.dumps({"botocore": botocore.__version__, "cbor2": importlib.metadata.version("cbor2"),
                          "apiVersion": model["metadata"]["apiVersion"]}))
        return 0
    if len(argv) != 4 or argv[1] != "request":
        print(__doc__, file=sys.stderr)
        return 2
    operation, path = argv[2], argv[3]
    if operation not in model["operations"]:
        print(f"unknown operation {operation}", file=sys.stderr)
        return 2
    with open(path, encoding="utf-8") as f:
        req = json.load(f)
    errors, decoded = check_request(model, operation, req)
    print(json.dumps({"errors": errors, "decoded": plain(decoded)}, indent=1))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
