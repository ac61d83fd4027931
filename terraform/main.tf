# Shared names and the customer-managed key used by every encrypted resource.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

data "aws_availability_zones" "available" {
  # checkov:skip=CKV_AWS_394:Only the first az_count zones by name are used (slice below); a zone AWS adds later sorts after them, so the set does not change.
  state = "available"
}

locals {
  prefix     = "${var.name}-${var.environment}"
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.region
  azs        = slice(data.aws_availability_zones.available.names, 0, var.az_count)

  # Object layout shared with the application (ARCHITECTURE.md, "Object keys").
  sources_prefix = "sources/"
  ingest_prefix  = "ingest/"
  outputs_prefix = "videos/"
  # Chunk tasks leave storyboard tiles here for the assembly, which removes them.
  work_prefix = "work/"
}

data "aws_iam_policy_document" "kms" {
  # checkov:skip=CKV_AWS_109:Key policies apply to their own key only; "*" here is that key, and the account root must keep admin rights or the key becomes unmanageable.
  # checkov:skip=CKV_AWS_111:Same as above: "*" in a key policy means this key; writes are limited to the account root.
  # checkov:skip=CKV_AWS_356:Same as above: a key policy's resource "*" is the key itself.
  statement {
    sid       = "AccountAdmin"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  # CloudWatch Logs encrypts the log groups of the tasks, the Lambda and the VPC flow logs.
  statement {
    sid       = "CloudWatchLogs"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"]
    }
  }
}

resource "aws_kms_key" "main" {
  description             = "${local.prefix}: sources bucket, secrets, logs, databases, queues"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms.json
}

resource "aws_kms_alias" "main" {
  name          = "alias/${local.prefix}"
  target_key_id = aws_kms_key.main.key_id
}
