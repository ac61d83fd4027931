# Inputs. Only `api_certificate_arn`, `cdn_public_key_pem` and `panel_origins`
# have no default; see README.md for a minimal terraform.tfvars.

variable "name" {
  description = "Short project name, first part of every resource name."
  type        = string
  default     = "vod"
}

variable "environment" {
  description = "Deployment name (prod, staging…), second part of every resource name."
  type        = string
  default     = "prod"
}

variable "region" {
  description = "AWS region of everything except CloudFront (global)."
  type        = string
  default     = "eu-west-1"
}

variable "tags" {
  description = "Extra tags on every resource."
  type        = map(string)
  default     = {}
}

# --- network ------------------------------------------------------------------

variable "vpc_cidr" {
  description = "CIDR of the VPC; split into one public and one private /20 (or smaller) per AZ."
  type        = string
  default     = "10.40.0.0/16"
}

variable "az_count" {
  description = "Availability zones to use (RDS, DocumentDB and ElastiCache need at least 2)."
  type        = number
  default     = 2
  validation {
    condition     = var.az_count >= 2 && var.az_count <= 4
    error_message = "az_count must be between 2 and 4."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all AZs (cheaper) instead of one per AZ (survives an AZ loss)."
  type        = bool
  default     = false
}

variable "log_retention_days" {
  description = "Retention of every CloudWatch log group."
  type        = number
  default     = 365
}

# --- storage ------------------------------------------------------------------

variable "panel_origins" {
  description = "Browser origins of the admin panel: CORS on direct uploads (sources bucket) and on the CDN."
  type        = list(string)
  validation {
    condition     = length(var.panel_origins) > 0 && alltrue([for o in var.panel_origins : can(regex("^https?://[^/*]+$", o))])
    error_message = "panel_origins needs at least one origin like https://admin.example.com (no path, no wildcard)."
  }
}

variable "sources_tier_after_days" {
  description = "Move sources to a colder storage class after this many days; null keeps them in STANDARD."
  type        = number
  default     = 90
}

variable "sources_tier_storage_class" {
  description = "Storage class old sources move to (GLACIER_IR keeps millisecond reads for re-transcodes)."
  type        = string
  default     = "GLACIER_IR"
}

variable "noncurrent_source_days" {
  description = "Days a replaced or deleted source version is kept (versioning is on for sources)."
  type        = number
  default     = 30
}

variable "log_bucket_retention_days" {
  description = "Days S3, ALB and CloudFront access logs are kept."
  type        = number
  default     = 90
}

# --- CDN ----------------------------------------------------------------------

variable "cdn_public_key_pem" {
  description = "PEM public key of the CloudFront signing key pair; the private half goes into the cdn-private-key secret."
  type        = string
}

variable "cdn_signed_access" {
  description = "Require signed URLs or cookies (trusted key group) on every outputs behaviour."
  type        = bool
  default     = true
}

variable "cdn_playlist_ttl_seconds" {
  description = "Default TTL of playlists (.m3u8) and other mutable objects; short because a retry rewrites them."
  type        = number
  default     = 5
}

variable "cdn_media_ttl_seconds" {
  description = "TTL of segments, images and storyboards: immutable once published."
  type        = number
  default     = 31536000
}

variable "cdn_price_class" {
  description = "CloudFront price class."
  type        = string
  default     = "PriceClass_100"
}

variable "cdn_aliases" {
  description = "Custom domain names of the distribution; needs cdn_certificate_arn (us-east-1)."
  type        = list(string)
  default     = []
}

variable "cdn_certificate_arn" {
  description = "ACM certificate in us-east-1 for cdn_aliases; null uses the *.cloudfront.net certificate."
  type        = string
  default     = null
}

variable "cdn_web_acl_arn" {
  description = "Optional WAFv2 web ACL (scope CLOUDFRONT) attached to the distribution."
  type        = string
  default     = null
}

# --- databases ----------------------------------------------------------------

variable "postgres_version" {
  description = "RDS PostgreSQL major.minor version."
  type        = string
  default     = "16.4"
}

variable "postgres_instance_class" {
  type    = string
  default = "db.t4g.medium"
}

variable "postgres_allocated_storage_gib" {
  type    = number
  default = 50
}

variable "multi_az" {
  description = "Multi-AZ RDS, a replica for Redis and a second DocumentDB instance."
  type        = bool
  default     = true
}

variable "redis_node_type" {
  type    = string
  default = "cache.t4g.small"
}

variable "docdb_instance_class" {
  type    = string
  default = "db.t4g.medium"
}

variable "backup_retention_days" {
  type    = number
  default = 7
}

variable "deletion_protection" {
  description = "Deletion protection on RDS, DocumentDB and the load balancer."
  type        = bool
  default     = true
}

# --- compute ------------------------------------------------------------------

variable "image_tag" {
  description = "Tag of the vod-api and vod-worker images in the ECR repositories this module creates."
  type        = string
  default     = "latest"
}

variable "api_certificate_arn" {
  description = "ACM certificate (in var.region) for the API load balancer's HTTPS listener."
  type        = string
}

variable "api_ingress_cidrs" {
  description = "Who may reach the API load balancer."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "api_cpu" {
  type    = number
  default = 512
}

variable "api_memory" {
  type    = number
  default = 1024
}

variable "api_min_count" {
  type    = number
  default = 2
}

variable "api_max_count" {
  type    = number
  default = 6
}

variable "worker_cpu" {
  description = "vCPU units of a worker task; transcoding is CPU-bound with the gstreamer backend."
  type        = number
  default     = 4096
}

variable "worker_memory" {
  type    = number
  default = 8192
}

variable "worker_scratch_gib" {
  description = "Fargate ephemeral storage of a worker (source + outputs of its jobs), 21–200 GiB."
  type        = number
  default     = 100
}

variable "worker_backend" {
  description = "Transcoder backend of the workers: mediaconvert or the in-process gstreamer pipeline."
  type        = string
  default     = "mediaconvert"
}

variable "worker_min_count" {
  description = "At least one worker also runs the retry scheduler, so keep this >= 1."
  type        = number
  default     = 1
  validation {
    condition     = var.worker_min_count >= 1
    error_message = "worker_min_count must be at least 1: workers also re-queue retrying jobs."
  }
}

variable "worker_max_count" {
  type    = number
  default = 10
}

variable "worker_backlog_per_task" {
  description = "Target of the worker autoscaling: waiting jobs (VOD/QueueDepth) per running worker task."
  type        = number
  default     = 2
}

variable "queue_metric_namespace" {
  description = "CloudWatch namespace of the queue-depth metric the API/workers publish."
  type        = string
  default     = "VOD"
}

# --- Lambda -------------------------------------------------------------------

variable "lambda_zip_path" {
  description = "Zip holding the `bootstrap` binary of the vod-lambda crate (see README.md)."
  type        = string
  default     = "../target/lambda/vod-lambda/bootstrap.zip"
}

variable "lambda_architecture" {
  description = "arm64 or x86_64; must match how `bootstrap` was built."
  type        = string
  default     = "arm64"
}

variable "lambda_reserved_concurrency" {
  description = "Cap on concurrent ingest invocations (protects the database pool)."
  type        = number
  default     = 10
}

# --- MediaConvert -------------------------------------------------------------

variable "mediaconvert_endpoint" {
  description = "MediaConvert API endpoint; null uses the regional endpoint https://mediaconvert.<region>.amazonaws.com."
  type        = string
  default     = null
}
