# Secrets: generated here (database passwords, Redis auth token, the API's
# bootstrap admin token) or filled in by the operator (the CloudFront private
# key). Containers receive them through ECS `secrets`, never as plain values.
# Generated values are also in the Terraform state, hence the encrypted backend.

# No special characters: the passwords go into URLs unescaped.
resource "random_password" "postgres" {
  length  = 40
  special = false
}

resource "random_password" "docdb" {
  length  = 40
  special = false
}

resource "random_password" "redis" {
  length  = 64
  special = false
}

resource "random_password" "bootstrap_token" {
  length  = 48
  special = false
}

locals {
  # The RDS global CA bundle is baked into the images (infra/docker/Dockerfile)
  # so that both PostgreSQL and DocumentDB certificates are verified.
  rds_ca_file = "/etc/ssl/certs/rds-global-bundle.pem"

  secret_values = {
    database-url = "postgres://${aws_db_instance.postgres.username}:${random_password.postgres.result}@${aws_db_instance.postgres.address}:${aws_db_instance.postgres.port}/${aws_db_instance.postgres.db_name}?sslmode=verify-full&sslrootcert=${local.rds_ca_file}"
    redis-url    = "rediss://:${random_password.redis.result}@${aws_elasticache_replication_group.redis.primary_endpoint_address}:6379/"
    mongodb-url  = "mongodb://${aws_docdb_cluster.catalog.master_username}:${random_password.docdb.result}@${aws_docdb_cluster.catalog.endpoint}:27017/?tls=true&tlsCAFile=${local.rds_ca_file}&replicaSet=rs0&readPreference=secondaryPreferred&retryWrites=false"
    # The first admin token; create real tokens with it, then clear it.
    bootstrap-admin-token = random_password.bootstrap_token.result
  }
}

locals {
  # Static names: for_each may not iterate over values derived from secrets.
  generated_secrets = toset(["database-url", "redis-url", "mongodb-url", "bootstrap-admin-token"])
}

resource "aws_secretsmanager_secret" "generated" {
  # checkov:skip=CKV2_AWS_57:These secrets are connection URLs built from passwords Terraform sets on the databases; rotate by tainting the random_password and re-applying (README.md), not with a rotation Lambda that cannot rewrite the URL.
  for_each                = local.generated_secrets
  name                    = "${local.prefix}/${each.key}"
  kms_key_id              = aws_kms_key.main.arn
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "generated" {
  for_each      = local.generated_secrets
  secret_id     = aws_secretsmanager_secret.generated[each.key].id
  secret_string = local.secret_values[each.key]
}

# Filled by the operator: `aws secretsmanager put-secret-value --secret-id
# <prefix>/cdn-private-key --secret-string file://private_key.pem`.
resource "aws_secretsmanager_secret" "cdn_private_key" {
  # checkov:skip=CKV2_AWS_57:A CloudFront key pair is rotated by adding a second public key to the key group, not by a rotation Lambda.
  name                    = "${local.prefix}/cdn-private-key"
  description             = "PEM private key matching var.cdn_public_key_pem"
  kms_key_id              = aws_kms_key.main.arn
  recovery_window_in_days = 7
}
