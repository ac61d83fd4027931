# Buckets: sources (uploads, KMS-encrypted, versioned), outputs (the CDN
# origin, read only by CloudFront) and logs (access logs of the other two,
# the load balancer and CloudFront).

locals {
  buckets = {
    sources = "${local.prefix}-sources-${local.account_id}"
    outputs = "${local.prefix}-outputs-${local.account_id}"
    logs    = "${local.prefix}-logs-${local.account_id}"
  }
}

resource "aws_s3_bucket" "sources" {
  # checkov:skip=CKV_AWS_144:Cross-region replication doubles storage of multi-GB sources; versioning plus backups of the database are the recovery path. Add replication per deployment if required.
  # checkov:skip=CKV2_AWS_62:Object events go to the ingest Lambda through aws_s3_bucket_notification.sources (only the ingest/ prefix); checkov does not link the separate resource.
  bucket = local.buckets.sources
}

resource "aws_s3_bucket" "outputs" {
  # checkov:skip=CKV_AWS_144:Outputs are derived data: a re-transcode from the sources rebuilds them.
  # checkov:skip=CKV_AWS_21:Versioning would keep every replaced segment of a re-transcode forever; outputs are rebuilt from the sources instead.
  # checkov:skip=CKV2_AWS_62:No consumer of output events: registration happens in the worker after it publishes.
  # checkov:skip=CKV_AWS_145:SSE-S3, not KMS: every CloudFront origin fetch would otherwise be a KMS request (cost, throttling) for content that is served to viewers anyway.
  bucket = local.buckets.outputs
}

resource "aws_s3_bucket" "logs" {
  # checkov:skip=CKV_AWS_144:Access logs are not replicated.
  # checkov:skip=CKV_AWS_21:Log objects are write-once; versioning adds nothing.
  # checkov:skip=CKV2_AWS_62:No consumer of log-object events.
  # checkov:skip=CKV_AWS_145:S3 server access logs and ALB logs can only be delivered to SSE-S3 buckets.
  # checkov:skip=CKV_AWS_18:This is the access-log target bucket; logging it into itself would loop.
  bucket = local.buckets.logs
}

locals {
  bucket_ids = {
    sources = aws_s3_bucket.sources.id
    outputs = aws_s3_bucket.outputs.id
    logs    = aws_s3_bucket.logs.id
  }
}

resource "aws_s3_bucket_public_access_block" "all" {
  for_each                = local.bucket_ids
  bucket                  = each.value
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "sources" {
  bucket = aws_s3_bucket.sources.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.main.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "outputs" {
  bucket = aws_s3_bucket.outputs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_versioning" "sources" {
  bucket = aws_s3_bucket.sources.id
  versioning_configuration {
    status = "Enabled"
  }
}

# Object ownership: ACLs stay disabled except on the log bucket, where
# CloudFront's standard logging still delivers through an ACL grant.
resource "aws_s3_bucket_ownership_controls" "sources" {
  bucket = aws_s3_bucket.sources.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_ownership_controls" "outputs" {
  bucket = aws_s3_bucket.outputs.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_ownership_controls" "logs" {
  # checkov:skip=CKV2_AWS_65:CloudFront standard logging delivers through an ACL grant, which needs ACLs enabled on its target; only the log bucket allows them, and it blocks public ACLs.
  bucket = aws_s3_bucket.logs.id
  rule {
    object_ownership = "BucketOwnerPreferred"
  }
}

resource "aws_s3_bucket_logging" "sources" {
  bucket        = aws_s3_bucket.sources.id
  target_bucket = aws_s3_bucket.logs.id
  target_prefix = "s3/sources/"
}

resource "aws_s3_bucket_logging" "outputs" {
  bucket        = aws_s3_bucket.outputs.id
  target_bucket = aws_s3_bucket.logs.id
  target_prefix = "s3/outputs/"
}

# --- lifecycle ------------------------------------------------------------------

resource "aws_s3_bucket_lifecycle_configuration" "sources" {
  bucket = aws_s3_bucket.sources.id

  # Direct uploads that the browser abandoned (and API uploads cut off
  # mid-stream) leave parts that are billed but invisible; drop them after a day.
  rule {
    id     = "abort-incomplete-multipart"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  rule {
    id     = "tier-old-sources"
    status = var.sources_tier_after_days == null ? "Disabled" : "Enabled"
    filter {
      prefix = local.sources_prefix
    }
    transition {
      days          = coalesce(var.sources_tier_after_days, 90)
      storage_class = var.sources_tier_storage_class
    }
  }

  rule {
    id     = "expire-noncurrent-sources"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_source_days
    }
    expiration {
      expired_object_delete_marker = true
    }
  }

  depends_on = [aws_s3_bucket_versioning.sources]
}

resource "aws_s3_bucket_lifecycle_configuration" "outputs" {
  bucket = aws_s3_bucket.outputs.id
  rule {
    id     = "abort-incomplete-multipart"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
  # What a failed or abandoned chunked job left for its assembly.
  rule {
    id     = "expire-work"
    status = "Enabled"
    filter {
      prefix = local.work_prefix
    }
    expiration {
      days = 7
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    id     = "expire-logs"
    status = "Enabled"
    filter {}
    expiration {
      days = var.log_bucket_retention_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

# Browsers PUT presigned parts straight to the sources bucket and must read
# each part's ETag to complete the upload.
resource "aws_s3_bucket_cors_configuration" "sources" {
  bucket = aws_s3_bucket.sources.id
  cors_rule {
    allowed_methods = ["PUT"]
    allowed_origins = var.panel_origins
    allowed_headers = ["Content-Type", "Content-Length", "Content-MD5"]
    expose_headers  = ["ETag"]
    max_age_seconds = 3600
  }
}

# --- bucket policies ------------------------------------------------------------

data "aws_iam_policy_document" "deny_insecure" {
  for_each = local.bucket_ids
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      "arn:${local.partition}:s3:::${each.value}",
      "arn:${local.partition}:s3:::${each.value}/*",
    ]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "sources" {
  bucket = aws_s3_bucket.sources.id
  policy = data.aws_iam_policy_document.deny_insecure["sources"].json
}

# The outputs bucket is readable by exactly one principal: this distribution, through OAC.
data "aws_iam_policy_document" "outputs" {
  source_policy_documents = [data.aws_iam_policy_document.deny_insecure["outputs"].json]
  statement {
    sid       = "CloudFrontReadOutputs"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.outputs.arn}/${local.outputs_prefix}*"]
    principals {
      type        = "Service"
      identifiers = ["cloudfront.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "AWS:SourceArn"
      values   = [aws_cloudfront_distribution.outputs.arn]
    }
  }
}

resource "aws_s3_bucket_policy" "outputs" {
  bucket = aws_s3_bucket.outputs.id
  policy = data.aws_iam_policy_document.outputs.json
}

data "aws_elb_service_account" "main" {}

data "aws_iam_policy_document" "logs" {
  source_policy_documents = [data.aws_iam_policy_document.deny_insecure["logs"].json]
  statement {
    sid       = "S3ServerAccessLogs"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.logs.arn}/s3/*"]
    principals {
      type        = "Service"
      identifiers = ["logging.s3.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
  statement {
    sid       = "LoadBalancerLogs"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.logs.arn}/alb/AWSLogs/${local.account_id}/*"]
    principals {
      type        = "AWS"
      identifiers = [data.aws_elb_service_account.main.arn]
    }
  }
}

resource "aws_s3_bucket_policy" "logs" {
  bucket = aws_s3_bucket.logs.id
  policy = data.aws_iam_policy_document.logs.json
}
