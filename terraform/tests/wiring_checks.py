"""The wiring the issue asks for, as functions over a parsed module (tfmodel).
Each raises AssertionError with the reason; test_wiring.py runs them on
terraform/ and test_mutations.py shows that each one fails on a broken copy."""

import re

from tfmodel import MODULE_DIR, attr, blocks

# Settings other branches add to the binaries (MediaConvert backend, signed
# CDN URLs); names the code does not know yet must be listed here, so that a
# typo in any other name fails the test.
PENDING_APP_SETTINGS = {
    "VOD_WORKER_BACKEND", "VOD_MEDIACONVERT_ROLE_ARN", "VOD_MEDIACONVERT_QUEUE_ARN", "VOD_MEDIACONVERT_ENDPOINT",
    "VOD_CDN_KEY_PAIR_ID", "VOD_CDN_PRIVATE_KEY",
}

BUCKETS = ("sources", "outputs", "logs")


def _behaviours(dist):
    return blocks(dist, "ordered_cache_behavior") + blocks(dist, "default_cache_behavior")


def _behaviour(dist, pattern_suffix):
    for b in blocks(dist, "ordered_cache_behavior"):
        if attr(b, "path_pattern").endswith(pattern_suffix):
            return b
    raise AssertionError(f"no ordered_cache_behavior whose path_pattern ends with {pattern_suffix!r}")


def _cache_policy_of(m, behaviour):
    ref = attr(behaviour, "cache_policy_id")
    for name, body in m.resources.get("aws_cloudfront_cache_policy", {}).items():
        if ref == f"${{aws_cloudfront_cache_policy.{name}.id}}":
            return body
    raise AssertionError(f"cache_policy_id {ref} is not a cache policy of this module")


def check_distribution_origin_is_outputs_bucket(m):
    dist = m.resource("aws_cloudfront_distribution", "outputs")
    origins = blocks(dist, "origin")
    assert len(origins) == 1, f"expected one origin, got {len(origins)}"
    domain = attr(origins[0], "domain_name")
    assert domain == "${aws_s3_bucket.outputs.bucket_regional_domain_name}", f"origin domain is {domain}"
    origin_id = m.resolve(attr(origins[0], "origin_id"))
    for b in _behaviours(dist):
        assert m.resolve(attr(b, "target_origin_id")) == origin_id, "a behaviour targets another origin"


def check_oac_attached_to_origin(m):
    dist = m.resource("aws_cloudfront_distribution", "outputs")
    origin = blocks(dist, "origin")[0]
    ref = attr(origin, "origin_access_control_id", default="<none>")
    assert ref == "${aws_cloudfront_origin_access_control.outputs.id}", f"origin_access_control_id is {ref}"
    assert not blocks(origin, "s3_origin_config"), "legacy OAI (s3_origin_config) next to OAC"
    oac = m.resource("aws_cloudfront_origin_access_control", "outputs")
    assert attr(oac, "origin_access_control_origin_type") == "s3"
    assert attr(oac, "signing_behavior") == "always"
    assert attr(oac, "signing_protocol") == "sigv4"


def check_outputs_policy_allows_only_the_distribution(m):
    pol = m.resource("aws_s3_bucket_policy", "outputs")
    assert attr(pol, "bucket") == "${aws_s3_bucket.outputs.id}", "policy is on another bucket"
    assert attr(pol, "policy") == "${data.aws_iam_policy_document.outputs.json}"
    doc = m.datasource("aws_iam_policy_document", "outputs")
    allows = [s for s in blocks(doc, "statement") if attr(s, "effect", default="Allow") == "Allow"]
    assert allows, "no Allow statement for CloudFront"
    for s in allows:
        principals = blocks(s, "principals")
        assert len(principals) == 1, "an Allow statement has several principal blocks"
        assert attr(principals[0], "type") == "Service"
        assert attr(principals[0], "identifiers") == ["cloudfront.amazonaws.com"], attr(principals[0], "identifiers")
        assert attr(s, "actions") == ["s3:GetObject"], f"CloudFront may only read: {attr(s, 'actions')}"
        conds = {attr(c, "variable"): (attr(c, "test"), attr(c, "values")) for c in blocks(s, "condition")}
        assert conds.get("AWS:SourceArn") == ("StringEquals", ["${aws_cloudfront_distribution.outputs.arn}"]), (
            f"Allow not limited to this distribution: {conds}"
        )
        for r in attr(s, "resources"):
            assert r.startswith("${aws_s3_bucket.outputs.arn}/"), f"resource outside the outputs bucket: {r}"
    # The merged deny-insecure document must only deny.
    for src in attr(doc, "source_policy_documents", default=[]):
        name = src.split(".")[2].split("[")[0]
        for s in blocks(m.datasource("aws_iam_policy_document", name), "statement"):
            assert attr(s, "effect", default="Allow") == "Deny", f"{src} adds an Allow to the outputs policy"


def check_signed_behaviours_use_key_group(m):
    dist = m.resource("aws_cloudfront_distribution", "outputs")
    assert m.resolve("${var.cdn_signed_access}") is True, "signed access is off by default"
    key_group_ref = "${aws_cloudfront_key_group.signing.id}"
    for b in _behaviours(dist):
        groups = m.resolve(attr(b, "trusted_key_groups", default="<none>"))
        text = str(groups)
        assert key_group_ref in text and "var.cdn_signed_access" in text, (
            f"behaviour {b.get('path_pattern', ['default'])[0]} is not signed with the key group: {groups}"
        )
        assert not b.get("trusted_signers"), "legacy trusted_signers used"
    kg = m.resource("aws_cloudfront_key_group", "signing")
    assert attr(kg, "items") == ["${aws_cloudfront_public_key.signing.id}"]
    pk = m.resource("aws_cloudfront_public_key", "signing")
    assert attr(pk, "encoded_key") == "${var.cdn_public_key_pem}", "public key must come from a variable"


def check_cache_ttls(m):
    dist = m.resource("aws_cloudfront_distribution", "outputs")
    playlist = _cache_policy_of(m, _behaviour(dist, ".m3u8"))
    assert m.resolve(attr(playlist, "default_ttl")) <= 10, "playlists must have a short default TTL"
    assert m.resolve(attr(playlist, "min_ttl")) == 0
    for suffix in (".ts", "/thumbs/*"):
        media = _cache_policy_of(m, _behaviour(dist, suffix))
        assert m.resolve(attr(media, "default_ttl")) >= 86400 * 30, f"{suffix}: immutable media needs a long TTL"
        assert attr(media, "min_ttl") >= 86400, f"{suffix}: min TTL below a day"
    default = _cache_policy_of(m, blocks(dist, "default_cache_behavior")[0])
    assert m.resolve(attr(default, "default_ttl")) <= 60, "the default behaviour (manifest.json…) must not be cached long"
    for p in m.resources["aws_cloudfront_cache_policy"].values():
        params = blocks(p, "parameters_in_cache_key_and_forwarded_to_origin")[0]
        qs = attr(blocks(params, "query_strings_config")[0], "query_string_behavior")
        assert qs == "none", "signed-URL query strings must not split the cache"


def check_cors_response_headers_policy(m):
    dist = m.resource("aws_cloudfront_distribution", "outputs")
    for b in _behaviours(dist):
        assert attr(b, "response_headers_policy_id", default="") == "${aws_cloudfront_response_headers_policy.cors.id}"
    rhp = m.resource("aws_cloudfront_response_headers_policy", "cors")
    cors = blocks(rhp, "cors_config")[0]
    origins = attr(blocks(cors, "access_control_allow_origins")[0], "items")
    assert origins == "${var.panel_origins}", f"CORS origins: {origins}"
    methods = attr(blocks(cors, "access_control_allow_methods")[0], "items")
    assert {"GET", "HEAD"} <= set(methods), methods


def check_sources_lifecycle(m):
    lc = m.resource("aws_s3_bucket_lifecycle_configuration", "sources")
    assert attr(lc, "bucket") == "${aws_s3_bucket.sources.id}"
    rules = blocks(lc, "rule")
    aborts = [r for r in rules if blocks(r, "abort_incomplete_multipart_upload")]
    assert aborts, "no abort_incomplete_multipart_upload rule on sources"
    r = aborts[0]
    assert attr(r, "status") == "Enabled"
    days = attr(blocks(r, "abort_incomplete_multipart_upload")[0], "days_after_initiation")
    assert days == 1, f"incomplete uploads aborted after {days} days, want 1"
    f = blocks(r, "filter")
    assert f and not {k for k in f[0] if not k.startswith("__")}, "abort rule must cover the whole bucket"
    tiers = [r for r in rules if blocks(r, "transition")]
    assert tiers, "no rule tiering old sources"
    t = blocks(tiers[0], "transition")[0]
    assert attr(t, "storage_class") == "${var.sources_tier_storage_class}"
    assert m.resolve("${var.sources_tier_storage_class}") in {"STANDARD_IA", "INTELLIGENT_TIERING", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"}


def check_outputs_lifecycle_aborts_uploads(m):
    lc = m.resource("aws_s3_bucket_lifecycle_configuration", "outputs")
    days = [
        attr(a, "days_after_initiation")
        for r in blocks(lc, "rule")
        for a in blocks(r, "abort_incomplete_multipart_upload")
    ]
    assert days == [1], f"outputs abort rule days: {days}"


def check_outputs_work_objects_expire(m):
    lc = m.resource("aws_s3_bucket_lifecycle_configuration", "outputs")
    work = [r for r in blocks(lc, "rule")
            if any(attr(f, "prefix", default="") == "${local.work_prefix}" for f in blocks(r, "filter"))]
    assert work, "no lifecycle rule on the work/ prefix (chunk tasks' tiles of abandoned jobs)"
    days = [attr(e, "days") for e in blocks(work[0], "expiration")]
    assert days and 1 <= days[0] <= 30, f"work/ objects expire after {days} days"


def check_public_access_blocked_everywhere(m):
    pab = m.resource("aws_s3_bucket_public_access_block", "all")
    covered = m.resolve(attr(pab, "for_each"))
    assert isinstance(covered, dict), f"public access block for_each is {covered}"
    for name in m.resources["aws_s3_bucket"]:
        assert covered.get(name) == f"${{aws_s3_bucket.{name}.id}}", f"bucket {name} has no public access block"
    for key in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"):
        assert attr(pab, key) is True, f"{key} is not true"


def check_encryption_everywhere(m):
    sse = m.resources.get("aws_s3_bucket_server_side_encryption_configuration", {})
    for name in m.resources["aws_s3_bucket"]:
        assert name in sse, f"bucket {name} has no encryption configuration"
        body = sse[name]
        assert attr(body, "bucket") == f"${{aws_s3_bucket.{name}.id}}"
        default = blocks(blocks(body, "rule")[0], "apply_server_side_encryption_by_default")[0]
        assert attr(default, "sse_algorithm") in {"aws:kms", "AES256"}
    src = blocks(blocks(sse["sources"], "rule")[0], "apply_server_side_encryption_by_default")[0]
    assert attr(src, "sse_algorithm") == "aws:kms" and attr(src, "kms_master_key_id") == "${aws_kms_key.main.arn}"
    assert attr(m.resource("aws_kms_key", "main"), "enable_key_rotation") is True
    for rtype, key in (("aws_db_instance", "storage_encrypted"), ("aws_docdb_cluster", "storage_encrypted"),
                       ("aws_elasticache_replication_group", "at_rest_encryption_enabled"),
                       ("aws_elasticache_replication_group", "transit_encryption_enabled")):
        for name, body in m.resources[rtype].items():
            assert attr(body, key) is True, f"{rtype}.{name}: {key} is not true"


def check_sources_versioning_and_cors(m):
    v = m.resource("aws_s3_bucket_versioning", "sources")
    assert attr(v, "bucket") == "${aws_s3_bucket.sources.id}"
    assert attr(blocks(v, "versioning_configuration")[0], "status") == "Enabled"
    cors = m.resource("aws_s3_bucket_cors_configuration", "sources")
    assert attr(cors, "bucket") == "${aws_s3_bucket.sources.id}"
    rule = blocks(cors, "cors_rule")[0]
    assert "PUT" in attr(rule, "allowed_methods")
    assert "ETag" in attr(rule, "expose_headers"), "browsers need the ETag of each part"
    assert attr(rule, "allowed_origins") == "${var.panel_origins}"


def check_lambda_runtime_and_dlq(m):
    fn = m.resource("aws_lambda_function", "ingest")
    assert attr(fn, "runtime") == "provided.al2023"
    assert attr(fn, "handler") == "bootstrap"
    dlq = attr(blocks(fn, "dead_letter_config")[0], "target_arn") if blocks(fn, "dead_letter_config") else None
    assert dlq == "${aws_sqs_queue.ingest_dlq.arn}", f"dead_letter_config target is {dlq}"
    # The function's role must be allowed to send to that queue.
    role_policy = m.resource("aws_iam_role_policy", "ingest")
    assert attr(role_policy, "role") == "${aws_iam_role.ingest.id}" and attr(fn, "role") == "${aws_iam_role.ingest.arn}"
    doc = m.datasource("aws_iam_policy_document", "ingest")
    sends = [s for s in blocks(doc, "statement") if "sqs:SendMessage" in attr(s, "actions")]
    assert sends and attr(sends[0], "resources") == ["${aws_sqs_queue.ingest_dlq.arn}"], "role cannot send to the DLQ"


def check_lambda_subscribed_to_ingest_prefix(m):
    n = m.resource("aws_s3_bucket_notification", "sources")
    assert attr(n, "bucket") == "${aws_s3_bucket.sources.id}", "notification on the wrong bucket"
    subs = blocks(n, "lambda_function")
    assert len(subs) == 1, f"{len(subs)} Lambda subscriptions"
    s = subs[0]
    assert attr(s, "lambda_function_arn") == "${aws_lambda_function.ingest.arn}"
    assert m.resolve(attr(s, "filter_prefix")) == "ingest/", f"filter prefix {m.resolve(attr(s, 'filter_prefix'))}"
    assert attr(s, "events") == ["s3:ObjectCreated:*"], attr(s, "events")
    perm = m.resource("aws_lambda_permission", "sources_bucket")
    assert attr(perm, "principal") == "s3.amazonaws.com"
    assert attr(perm, "source_arn") == "${aws_s3_bucket.sources.arn}", "invoke permission not limited to the bucket"
    assert attr(perm, "function_name") == "${aws_lambda_function.ingest.function_name}"
    assert "${aws_lambda_permission.sources_bucket}" in attr(n, "depends_on"), "notification must wait for the permission"


def check_no_secret_literals(m):
    secret_args = {
        "aws_db_instance": "password", "aws_docdb_cluster": "master_password",
        "aws_elasticache_replication_group": "auth_token",
    }
    for rtype, key in secret_args.items():
        for name, body in m.resources[rtype].items():
            value = attr(body, key)
            assert value.startswith("${random_password.") and value.endswith(".result}"), f"{rtype}.{name}.{key} = {value!r}"
    # Terraform refuses for_each over sensitive values (random_password results).
    for kind in (m.resources, m.data):
        for rtype, named in kind.items():
            for name, body in named.items():
                fe = str(body.get("for_each", ""))
                assert "secret_values" not in fe and "random_password" not in fe, f"{rtype}.{name} iterates over secrets"
    for name in ("cdn_public_key_pem", "api_certificate_arn", "panel_origins"):
        assert "default" not in m.variables[name], f"variable {name} must be set by the deployer"


def check_ecs_environment_and_secrets(m):
    for name, parts in (("api_env", ("common_env", "api_only_env")), ("worker_env", ("common_env", "worker_only_env")),
                        ("api_secrets", ("service_secrets", "api_only_secrets"))):
        want = "${merge(" + ", ".join(f"local.{p}" for p in parts) + ")}"
        assert m.locals[name].replace(" ", "") == want.replace(" ", ""), f"local.{name} is {m.locals[name]}, want {want}"
    env = {**m.locals["common_env"], **m.locals["worker_only_env"], **m.locals["api_only_env"]}
    env = {k: v for k, v in env.items() if not k.startswith("__")}
    for name in ("VOD_S3_REGION", "VOD_S3_SOURCES_BUCKET", "VOD_S3_OUTPUTS_BUCKET", "VOD_MONGODB_DATABASE",
                 "VOD_CDN_BASE_URL", "VOD_CDN_KEY_PAIR_ID", "VOD_S3_FORCE_PATH_STYLE"):
        assert name in m.locals["common_env"], f"{name} missing from common_env"
    for name in ("VOD_WORKER_BACKEND", "VOD_MEDIACONVERT_ROLE_ARN", "VOD_MEDIACONVERT_QUEUE_ARN", "VOD_MEDIACONVERT_ENDPOINT"):
        assert name in m.locals["worker_only_env"], f"{name} missing from worker_only_env"
    assert "VOD_S3_ENDPOINT" not in env or env["VOD_S3_ENDPOINT"] == "", "no custom S3 endpoint on AWS"
    assert m.locals["common_env"]["VOD_S3_SOURCES_BUCKET"] == "${aws_s3_bucket.sources.id}"
    assert m.locals["common_env"]["VOD_S3_OUTPUTS_BUCKET"] == "${aws_s3_bucket.outputs.id}"
    secret_names = {"VOD_DATABASE_URL", "VOD_REDIS_URL", "VOD_MONGODB_URL", "VOD_BOOTSTRAP_ADMIN_TOKEN",
                    "VOD_CDN_PRIVATE_KEY", "VOD_S3_SECRET_ACCESS_KEY"}
    assert not secret_names & set(env), f"secrets as plain environment: {secret_names & set(env)}"
    service = {k for k in m.locals["service_secrets"] if not k.startswith("__")}
    api = {k for k in m.locals["api_only_secrets"] if not k.startswith("__")}
    assert {"VOD_DATABASE_URL", "VOD_REDIS_URL", "VOD_MONGODB_URL"} <= service
    assert {"VOD_BOOTSTRAP_ADMIN_TOKEN", "VOD_CDN_PRIVATE_KEY"} <= api
    for value in list(m.locals["service_secrets"].values()) + list(m.locals["api_only_secrets"].values()):
        if isinstance(value, str):
            assert value.startswith("${aws_secretsmanager_secret."), f"secret not from Secrets Manager: {value}"
    for task, env_local, secrets_local in (("api", "api_env", "api_secrets"), ("worker", "worker_env", "service_secrets")):
        cd = attr(m.resource("aws_ecs_task_definition", task), "container_definitions")
        assert f"local.{env_local}" in cd and f"local.{secrets_local}" in cd, f"{task} task does not use {env_local}/{secrets_local}"
        assert "valueFrom" in cd


def check_worker_health_check(m):
    env = m.locals["worker_only_env"]
    assert "VOD_WORKER_METRICS_LISTEN" in env, "the worker's /healthz needs VOD_WORKER_METRICS_LISTEN"
    assert "VOD_WORKER_QUEUE_OUTAGE_EXIT_SECS" in env, "set how long a worker may be without Redis"
    cd = attr(m.resource("aws_ecs_task_definition", "worker"), "container_definitions")
    # tfmodel renders the jsonencode() argument as Python literals.
    squashed = cd.replace(" ", "").replace("'", '"')
    assert '"healthCheck":{"command":' in squashed, "the worker container has no healthCheck"
    assert '"/usr/local/bin/vod-worker","health"]' in squashed, "the health check does not run `vod-worker health`"


def _resources(s):
    """A statement's resources as a list; a `for` expression stays one string item."""
    value = attr(s, "resources", default=[])
    return value if isinstance(value, list) else [value]


def app_setting_names(repo=MODULE_DIR.parent):
    """Every `env = "VOD_…"` the Rust binaries read (clap arguments)."""
    names = set()
    for crate in ("core", "api", "workers", "lambda"):
        for rs in (repo / crate).glob("src/**/*.rs"):
            names |= set(re.findall(r'env\s*=\s*"(VOD_\w+)"', rs.read_text()))
    return names


def check_env_names_known_to_app(m):
    known = app_setting_names()
    assert {"VOD_DATABASE_URL", "VOD_S3_SOURCES_BUCKET", "VOD_LISTEN"} <= known, "could not read the app's settings"
    for local in ("common_env", "api_only_env", "worker_only_env", "service_secrets", "api_only_secrets"):
        for name in m.locals[local]:
            if not name.startswith("__"):
                assert name in known or name in PENDING_APP_SETTINGS, f"local.{local}: {name} is read by no binary"


def _statements(m):
    for name, doc in m.data.get("aws_iam_policy_document", {}).items():
        for s in blocks(doc, "statement"):
            yield name, s


def check_iam_least_privilege(m):
    # Wildcard resources only where AWS has no resource-level permissions.
    star_ok = {"ecr:GetAuthorizationToken", "cloudwatch:PutMetricData", "xray:PutTraceSegments", "xray:PutTelemetryRecords"}
    for name, s in _statements(m):
        if attr(s, "effect", default="Allow") != "Allow" or name == "kms":
            continue
        actions = attr(s, "actions")
        assert not any(a == "*" or a.endswith(":*") for a in actions), f"{name}: wildcard action {actions}"
        if "*" in _resources(s):
            assert set(actions) <= star_ok, f"{name}: {actions} on resource *"
            if "cloudwatch:PutMetricData" in actions:
                conds = [attr(c, "variable") for c in blocks(s, "condition")]
                assert "cloudwatch:namespace" in conds, f"{name}: PutMetricData not limited to a namespace"
        # Object access to the media buckets is always to a prefix, never the whole bucket.
        for r in _resources(s):
            if r.startswith(("${aws_s3_bucket.sources.", "${aws_s3_bucket.outputs.")) and "/" in r:
                assert r.endswith("}/${local.sources_prefix}*") or r.endswith("}/${local.outputs_prefix}*") \
                    or r.endswith("}/${local.ingest_prefix}*") or r.endswith("}/${local.work_prefix}*"), \
                    f"{name}: object grant not on a known prefix: {r}"
    worker = {attr(s, "sid"): s for s in blocks(m.datasource("aws_iam_policy_document", "worker"), "statement")}
    pass_role = worker["PassMediaConvertRole"]
    assert attr(pass_role, "resources") == ["${aws_iam_role.mediaconvert.arn}"]
    assert attr(blocks(pass_role, "condition")[0], "values") == ["mediaconvert.amazonaws.com"]
    api = m.datasource("aws_iam_policy_document", "api")
    for s in blocks(api, "statement"):
        for r in _resources(s):
            assert "mediaconvert" not in r and "iam" not in r, "the API gets no MediaConvert rights"


def check_worker_scaling_on_queue_depth(m):
    qm = m.locals["queue_metric"]
    assert m.resolve(qm["namespace"]) == "VOD" and qm["name"] == "QueueDepth", qm
    policy = m.resource("aws_appautoscaling_policy", "worker_backlog")
    assert attr(policy, "resource_id") == "${aws_appautoscaling_target.worker.resource_id}"
    target = m.resource("aws_appautoscaling_target", "worker")
    assert "aws_ecs_service.worker.name" in attr(target, "resource_id")
    spec = blocks(blocks(policy, "target_tracking_scaling_policy_configuration")[0], "customized_metric_specification")[0]
    metrics = blocks(spec, "metrics")
    stats = [blocks(blocks(x, "metric_stat")[0], "metric")[0] for x in metrics if blocks(x, "metric_stat")]
    assert any(attr(s, "namespace") == "${local.queue_metric.namespace}" and attr(s, "metric_name") == "${local.queue_metric.name}"
               for s in stats), "the worker policy does not track VOD/QueueDepth"
    returned = [x for x in metrics if attr(x, "return_data") is True]
    assert len(returned) == 1 and "depth" in attr(returned[0], "expression"), "the tracked value is not the backlog"


def check_mediaconvert_role(m):
    role = m.resource("aws_iam_role", "mediaconvert")
    assert attr(role, "assume_role_policy") == "${data.aws_iam_policy_document.mediaconvert_assume.json}"
    assume = m.datasource("aws_iam_policy_document", "mediaconvert_assume")
    ids = attr(blocks(blocks(assume, "statement")[0], "principals")[0], "identifiers")
    assert ids == ["mediaconvert.amazonaws.com"], ids
    env = m.locals["worker_only_env"]
    assert env["VOD_MEDIACONVERT_ROLE_ARN"] == "${aws_iam_role.mediaconvert.arn}"
    assert env["VOD_MEDIACONVERT_QUEUE_ARN"] == "${aws_media_convert_queue.main.arn}"


def check_data_stores_private(m):
    db = m.resource("aws_db_instance", "postgres")
    assert attr(db, "publicly_accessible") is False
    for rtype, name, key in (("aws_db_subnet_group", "main", "subnet_ids"),
                             ("aws_elasticache_subnet_group", "main", "subnet_ids"),
                             ("aws_docdb_subnet_group", "main", "subnet_ids")):
        assert attr(m.resource(rtype, name), key) == "${aws_subnet.private[*].id}", f"{rtype} not in private subnets"
    for svc in ("api", "worker"):
        net = blocks(m.resource("aws_ecs_service", svc), "network_configuration")[0]
        assert attr(net, "assign_public_ip") is False and attr(net, "subnets") == "${aws_subnet.private[*].id}"


CHECKS = [v for k, v in sorted(globals().items()) if k.startswith("check_")]
