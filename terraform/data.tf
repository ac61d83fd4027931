# The three data stores, private and encrypted with the project key:
# RDS PostgreSQL (record of truth), ElastiCache Redis (job queue, cache,
# progress fan-out) and DocumentDB (the MongoDB-compatible search catalog).

# --- PostgreSQL -----------------------------------------------------------------

resource "aws_db_subnet_group" "main" {
  name       = local.prefix
  subnet_ids = aws_subnet.private[*].id
}

resource "aws_db_parameter_group" "postgres" {
  name   = "${local.prefix}-postgres${split(".", var.postgres_version)[0]}"
  family = "postgres${split(".", var.postgres_version)[0]}"

  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }
  # Statements slower than a second are logged (query logging without logging every poll).
  parameter {
    name  = "log_min_duration_statement"
    value = "1000"
  }
  parameter {
    name  = "log_statement"
    value = "ddl"
  }
}

data "aws_iam_policy_document" "rds_monitoring_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["monitoring.rds.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "rds_monitoring" {
  name               = "${local.prefix}-rds-monitoring"
  assume_role_policy = data.aws_iam_policy_document.rds_monitoring_assume.json
}

resource "aws_iam_role_policy_attachment" "rds_monitoring" {
  role       = aws_iam_role.rds_monitoring.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

resource "aws_db_instance" "postgres" {
  identifier     = "${local.prefix}-postgres"
  engine         = "postgres"
  engine_version = var.postgres_version
  instance_class = var.postgres_instance_class
  db_name        = "vod"
  username       = "vod"
  password       = random_password.postgres.result

  allocated_storage     = var.postgres_allocated_storage_gib
  max_allocated_storage = var.postgres_allocated_storage_gib * 4
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = aws_kms_key.main.arn

  db_subnet_group_name   = aws_db_subnet_group.main.name
  vpc_security_group_ids = [aws_security_group.postgres.id]
  parameter_group_name   = aws_db_parameter_group.postgres.name
  publicly_accessible    = false
  multi_az               = var.multi_az

  backup_retention_period    = var.backup_retention_days
  copy_tags_to_snapshot      = true
  deletion_protection        = var.deletion_protection
  skip_final_snapshot        = false
  final_snapshot_identifier  = "${local.prefix}-postgres-final"
  auto_minor_version_upgrade = true

  iam_database_authentication_enabled   = true
  performance_insights_enabled          = true
  performance_insights_kms_key_id       = aws_kms_key.main.arn
  monitoring_interval                   = 60
  monitoring_role_arn                   = aws_iam_role.rds_monitoring.arn
  enabled_cloudwatch_logs_exports       = ["postgresql", "upgrade"]
  performance_insights_retention_period = 7
}

# --- Redis ------------------------------------------------------------------------

resource "aws_elasticache_subnet_group" "main" {
  name       = local.prefix
  subnet_ids = aws_subnet.private[*].id
}

resource "aws_elasticache_parameter_group" "redis" {
  name   = "${local.prefix}-redis7"
  family = "redis7"

  # The job queue lives here: under memory pressure refuse writes rather than
  # evict queued jobs. Cache entries carry their own TTLs.
  parameter {
    name  = "maxmemory-policy"
    value = "noeviction"
  }
}

resource "aws_elasticache_replication_group" "redis" {
  replication_group_id = "${local.prefix}-redis"
  description          = "vod job queue, cache and progress events"
  engine               = "redis"
  engine_version       = "7.1"
  node_type            = var.redis_node_type
  port                 = 6379
  parameter_group_name = aws_elasticache_parameter_group.redis.name
  subnet_group_name    = aws_elasticache_subnet_group.main.name
  security_group_ids   = [aws_security_group.redis.id]

  num_cache_clusters         = var.multi_az ? 2 : 1
  automatic_failover_enabled = var.multi_az
  multi_az_enabled           = var.multi_az

  at_rest_encryption_enabled = true
  kms_key_id                 = aws_kms_key.main.arn
  transit_encryption_enabled = true
  auth_token                 = random_password.redis.result

  # ElastiCache has no appendonly with Multi-AZ; durability comes from the
  # replica (failover) and daily snapshots.
  snapshot_retention_limit   = var.backup_retention_days
  auto_minor_version_upgrade = true
  apply_immediately          = false
}

# --- DocumentDB -------------------------------------------------------------------

resource "aws_docdb_subnet_group" "main" {
  name       = local.prefix
  subnet_ids = aws_subnet.private[*].id
}

resource "aws_docdb_cluster_parameter_group" "catalog" {
  name   = "${local.prefix}-docdb5"
  family = "docdb5.0"

  parameter {
    name  = "tls"
    value = "enabled"
  }
  parameter {
    name  = "audit_logs"
    value = "enabled"
  }
  parameter {
    name  = "profiler"
    value = "enabled"
  }
}

resource "aws_docdb_cluster" "catalog" {
  cluster_identifier              = "${local.prefix}-catalog"
  engine                          = "docdb"
  engine_version                  = "5.0.0"
  master_username                 = "vod"
  master_password                 = random_password.docdb.result
  db_subnet_group_name            = aws_docdb_subnet_group.main.name
  vpc_security_group_ids          = [aws_security_group.docdb.id]
  db_cluster_parameter_group_name = aws_docdb_cluster_parameter_group.catalog.name
  storage_encrypted               = true
  kms_key_id                      = aws_kms_key.main.arn
  backup_retention_period         = var.backup_retention_days
  deletion_protection             = var.deletion_protection
  skip_final_snapshot             = false
  final_snapshot_identifier       = "${local.prefix}-catalog-final"
  enabled_cloudwatch_logs_exports = ["audit", "profiler"]
}

resource "aws_docdb_cluster_instance" "catalog" {
  count                      = var.multi_az ? 2 : 1
  identifier                 = "${local.prefix}-catalog-${count.index}"
  cluster_identifier         = aws_docdb_cluster.catalog.id
  instance_class             = var.docdb_instance_class
  auto_minor_version_upgrade = true
}
