"""Each wiring and schema check must be able to fail: for every check, break
the HCL of a copy of terraform/ in one place and expect that check to fail."""

import shutil
import tempfile
import unittest
from pathlib import Path

import schema_checks
import tfmodel
import wiring_checks as w

# (check, file, text to replace (must occur once), replacement)
MUTATIONS = [
    (w.check_distribution_origin_is_outputs_bucket, "cdn.tf",
     "aws_s3_bucket.outputs.bucket_regional_domain_name", "aws_s3_bucket.sources.bucket_regional_domain_name"),
    (w.check_oac_attached_to_origin, "cdn.tf",
     "    origin_access_control_id = aws_cloudfront_origin_access_control.outputs.id\n", ""),
    (w.check_outputs_policy_allows_only_the_distribution, "storage.tf",
     "values   = [aws_cloudfront_distribution.outputs.arn]", 'values   = ["*"]'),
    (w.check_outputs_policy_allows_only_the_distribution, "storage.tf",
     'identifiers = ["cloudfront.amazonaws.com"]', 'identifiers = ["*"]'),
    (w.check_signed_behaviours_use_key_group, "cdn.tf",
     "    cache_policy_id            = aws_cloudfront_cache_policy.media.id\n"
     "    response_headers_policy_id = aws_cloudfront_response_headers_policy.cors.id\n"
     "    trusted_key_groups         = local.trusted_key_groups\n  }\n\n  # Poster",
     "    cache_policy_id            = aws_cloudfront_cache_policy.media.id\n"
     "    response_headers_policy_id = aws_cloudfront_response_headers_policy.cors.id\n  }\n\n  # Poster"),
    (w.check_signed_behaviours_use_key_group, "variables.tf",
     'description = "Require signed URLs or cookies (trusted key group) on every outputs behaviour."\n  type        = bool\n  default     = true',
     'description = "Require signed URLs or cookies (trusted key group) on every outputs behaviour."\n  type        = bool\n  default     = false'),
    (w.check_cache_ttls, "cdn.tf",
     "    cache_policy_id            = aws_cloudfront_cache_policy.media.id\n"
     "    response_headers_policy_id = aws_cloudfront_response_headers_policy.cors.id\n"
     "    trusted_key_groups         = local.trusted_key_groups\n  }\n\n  # Poster",
     "    cache_policy_id            = aws_cloudfront_cache_policy.playlists.id\n"
     "    response_headers_policy_id = aws_cloudfront_response_headers_policy.cors.id\n"
     "    trusted_key_groups         = local.trusted_key_groups\n  }\n\n  # Poster"),
    (w.check_cache_ttls, "variables.tf", "  default     = 5\n", "  default     = 3600\n"),
    (w.check_cors_response_headers_policy, "cdn.tf", "      items = var.panel_origins", '      items = ["*"]'),
    (w.check_sources_lifecycle, "storage.tf",
     "      days_after_initiation = 1\n    }\n  }\n\n  rule {\n    id     = \"tier-old-sources\"",
     "      days_after_initiation = 7\n    }\n  }\n\n  rule {\n    id     = \"tier-old-sources\""),
    (w.check_sources_lifecycle, "storage.tf",
     '    transition {\n      days          = coalesce(var.sources_tier_after_days, 90)\n      storage_class = var.sources_tier_storage_class\n    }\n', ""),
    (w.check_outputs_lifecycle_aborts_uploads, "storage.tf",
     'resource "aws_s3_bucket_lifecycle_configuration" "outputs" {\n  bucket = aws_s3_bucket.outputs.id\n  rule {\n    id     = "abort-incomplete-multipart"\n    status = "Enabled"\n    filter {}\n    abort_incomplete_multipart_upload {\n      days_after_initiation = 1',
     'resource "aws_s3_bucket_lifecycle_configuration" "outputs" {\n  bucket = aws_s3_bucket.outputs.id\n  rule {\n    id     = "abort-incomplete-multipart"\n    status = "Enabled"\n    filter {}\n    abort_incomplete_multipart_upload {\n      days_after_initiation = 2'),
    (w.check_outputs_work_objects_expire, "storage.tf", "      prefix = local.work_prefix\n", "      prefix = \"tmp/\"\n"),
    (w.check_public_access_blocked_everywhere, "storage.tf", "  restrict_public_buckets = true", "  restrict_public_buckets = false"),
    (w.check_public_access_blocked_everywhere, "storage.tf",
     "    logs    = aws_s3_bucket.logs.id\n  }\n}\n\nresource \"aws_s3_bucket_public_access_block\"",
     "  }\n}\n\nresource \"aws_s3_bucket_public_access_block\""),
    (w.check_encryption_everywhere, "storage.tf",
     'resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {', 'resource "aws_s3_bucket_server_side_encryption_configuration" "logz" {'),
    (w.check_encryption_everywhere, "data.tf", "  transit_encryption_enabled = true", "  transit_encryption_enabled = false"),
    (w.check_sources_versioning_and_cors, "storage.tf", '    expose_headers  = ["ETag"]', "    expose_headers  = []"),
    (w.check_sources_versioning_and_cors, "storage.tf",
     'versioning_configuration {\n    status = "Enabled"', 'versioning_configuration {\n    status = "Suspended"'),
    (w.check_lambda_runtime_and_dlq, "lambda.tf",
     "  dead_letter_config {\n    target_arn = aws_sqs_queue.ingest_dlq.arn\n  }\n", ""),
    (w.check_lambda_runtime_and_dlq, "lambda.tf", 'runtime          = "provided.al2023"', 'runtime          = "provided.al2"'),
    (w.check_lambda_subscribed_to_ingest_prefix, "main.tf", 'ingest_prefix  = "ingest/"', 'ingest_prefix  = "sources/"'),
    (w.check_lambda_subscribed_to_ingest_prefix, "lambda.tf",
     "  depends_on = [aws_lambda_permission.sources_bucket]\n", ""),
    (w.check_lambda_subscribed_to_ingest_prefix, "lambda.tf",
     "  source_arn     = aws_s3_bucket.sources.arn\n", ""),
    (w.check_no_secret_literals, "data.tf", "  password       = random_password.postgres.result", '  password       = "hunter2hunter2"'),
    (w.check_no_secret_literals, "secrets.tf",
     "  for_each      = local.generated_secrets", "  for_each      = local.secret_values"),
    (w.check_ecs_environment_and_secrets, "ecs.tf",
     "    VOD_REDIS_URL    = aws_secretsmanager_secret.generated[\"redis-url\"].arn\n", ""),
    (w.check_ecs_environment_and_secrets, "ecs.tf",
     '    VOD_LISTEN = "0.0.0.0:8080"', '    VOD_LISTEN = "0.0.0.0:8080"\n    VOD_DATABASE_URL = "postgres://x"'),
    (w.check_ecs_environment_and_secrets, "ecs.tf",
     "    VOD_MEDIACONVERT_QUEUE_ARN", "    VOD_MEDIACONVERT_QUEUE"),
    (w.check_env_names_known_to_app, "ecs.tf", "    VOD_S3_REGION ", "    VOD_S3_REGOIN "),
    (w.check_iam_least_privilege, "iam.tf",
     'resources = ["${aws_s3_bucket.sources.arn}/${local.sources_prefix}*"]\n  }\n  # Publishing',
     'resources = ["${aws_s3_bucket.sources.arn}/*"]\n  }\n  # Publishing'),
    (w.check_iam_least_privilege, "iam.tf",
     '    sid       = "ReadSources"\n    actions   = ["s3:GetObject"]', '    sid       = "ReadSources"\n    actions   = ["s3:*"]'),
    (w.check_iam_least_privilege, "iam.tf",
     '      variable = "iam:PassedToService"\n      values   = ["mediaconvert.amazonaws.com"]',
     '      variable = "iam:PassedToService"\n      values   = ["ecs-tasks.amazonaws.com"]'),
    (w.check_worker_scaling_on_queue_depth, "autoscaling.tf", 'name       = "QueueDepth"', 'name       = "CPUUtilization"'),
    (w.check_worker_scaling_on_queue_depth, "autoscaling.tf",
     'resource_id        = aws_appautoscaling_target.worker.resource_id', 'resource_id        = aws_appautoscaling_target.api.resource_id'),
    (w.check_worker_health_check, "ecs.tf",
     'command     = ["CMD", "/usr/local/bin/vod-worker", "health"]', 'command     = ["CMD-SHELL", "true"]'),
    (w.check_worker_health_check, "ecs.tf", '    VOD_WORKER_METRICS_LISTEN = "127.0.0.1:9102"\n', ""),
    (w.check_mediaconvert_role, "mediaconvert.tf", 'identifiers = ["mediaconvert.amazonaws.com"]', 'identifiers = ["ec2.amazonaws.com"]'),
    (w.check_data_stores_private, "data.tf", "  publicly_accessible    = false", "  publicly_accessible    = true"),
    (w.check_data_stores_private, "ecs.tf",
     "    security_groups  = [aws_security_group.worker.id]\n    assign_public_ip = false",
     "    security_groups  = [aws_security_group.worker.id]\n    assign_public_ip = true"),
]

SCHEMA_MUTATIONS = [
    (schema_checks.argument_errors, "ecs.tf", "enable_deletion_protection = var.deletion_protection",
     "deletion_protection = var.deletion_protection"),
    (schema_checks.argument_errors, "cdn.tf", "      include_subdomains", "      include_subdomain"),
    (schema_checks.reference_errors, "cdn.tf", "aws_s3_bucket.outputs.bucket_regional_domain_name",
     "aws_s3_bucket.outputs.regional_domain_name"),
    (schema_checks.reference_errors, "lambda.tf", "aws_sqs_queue.ingest_dlq.arn\n  }", "aws_sqs_queue.dlq.arn\n  }"),
    (schema_checks.reference_errors, "ecs.tf", "var.worker_scratch_gib", "var.worker_scratch"),
]


class Mutations(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.schema = schema_checks.load_schema()

    def broken(self, file, old, new):
        tmp = Path(tempfile.mkdtemp(prefix="tf-mutant-"))
        self.addCleanup(shutil.rmtree, tmp)
        for tf in tfmodel.MODULE_DIR.glob("*.tf"):
            shutil.copy(tf, tmp / tf.name)
        path = tmp / file
        text = path.read_text()
        self.assertEqual(text.count(old), 1, f"mutation anchor not found once in {file}: {old!r}")
        path.write_text(text.replace(old, new))
        return tfmodel.load(tmp)

    def test_every_wiring_check_is_exercised(self):
        covered = {check for check, *_ in MUTATIONS}
        missing = [c.__name__ for c in w.CHECKS if c not in covered]
        self.assertEqual(missing, [], "checks with no mutation")

    def test_wiring_checks_fail_on_broken_hcl(self):
        for check, file, old, new in MUTATIONS:
            with self.subTest(check=check.__name__, file=file, new=new[:60]):
                module = self.broken(file, old, new)
                with self.assertRaises(AssertionError):
                    check(module)

    def test_schema_checks_fail_on_broken_hcl(self):
        for check, file, old, new in SCHEMA_MUTATIONS:
            with self.subTest(check=check.__name__, file=file, new=new[:60]):
                module = self.broken(file, old, new)
                self.assertNotEqual(check(module, self.schema), [])


if __name__ == "__main__":
    unittest.main()
