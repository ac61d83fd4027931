# VPC: public subnets hold only the load balancer and NAT gateways; tasks,
# the Lambda and every database live in private subnets.

resource "aws_vpc" "main" {
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true
  tags                 = { Name = local.prefix }
}

# Nothing may use the default security group.
resource "aws_default_security_group" "default" {
  vpc_id = aws_vpc.main.id
}

resource "aws_subnet" "public" {
  count             = var.az_count
  vpc_id            = aws_vpc.main.id
  availability_zone = local.azs[count.index]
  cidr_block        = cidrsubnet(var.vpc_cidr, 4, count.index)
  tags              = { Name = "${local.prefix}-public-${local.azs[count.index]}", Tier = "public" }
}

resource "aws_subnet" "private" {
  count             = var.az_count
  vpc_id            = aws_vpc.main.id
  availability_zone = local.azs[count.index]
  cidr_block        = cidrsubnet(var.vpc_cidr, 4, count.index + 8)
  tags              = { Name = "${local.prefix}-private-${local.azs[count.index]}", Tier = "private" }
}

resource "aws_internet_gateway" "main" {
  vpc_id = aws_vpc.main.id
}

resource "aws_eip" "nat" {
  # checkov:skip=CKV2_AWS_19:These addresses belong to the NAT gateways (aws_nat_gateway.main), not to EC2 instances.
  count  = var.single_nat_gateway ? 1 : var.az_count
  domain = "vpc"
}

resource "aws_nat_gateway" "main" {
  count         = length(aws_eip.nat)
  allocation_id = aws_eip.nat[count.index].id
  subnet_id     = aws_subnet.public[count.index].id
  depends_on    = [aws_internet_gateway.main]
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.main.id
  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.main.id
  }
}

resource "aws_route_table_association" "public" {
  count          = var.az_count
  subnet_id      = aws_subnet.public[count.index].id
  route_table_id = aws_route_table.public.id
}

resource "aws_route_table" "private" {
  count  = var.az_count
  vpc_id = aws_vpc.main.id
  route {
    cidr_block     = "0.0.0.0/0"
    nat_gateway_id = aws_nat_gateway.main[var.single_nat_gateway ? 0 : count.index].id
  }
}

resource "aws_route_table_association" "private" {
  count          = var.az_count
  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private[count.index].id
}

# S3 traffic (sources and outputs, often gigabytes per job) bypasses the NAT gateways.
resource "aws_vpc_endpoint" "s3" {
  vpc_id            = aws_vpc.main.id
  service_name      = "com.amazonaws.${local.region}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = aws_route_table.private[*].id
}

# --- flow logs ----------------------------------------------------------------

resource "aws_cloudwatch_log_group" "flow" {
  name              = "/${local.prefix}/vpc-flow"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

data "aws_iam_policy_document" "flow_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["vpc-flow-logs.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "flow" {
  name               = "${local.prefix}-vpc-flow"
  assume_role_policy = data.aws_iam_policy_document.flow_assume.json
}

data "aws_iam_policy_document" "flow" {
  statement {
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = ["${aws_cloudwatch_log_group.flow.arn}:*"]
  }
}

resource "aws_iam_role_policy" "flow" {
  name   = "write-flow-logs"
  role   = aws_iam_role.flow.id
  policy = data.aws_iam_policy_document.flow.json
}

resource "aws_flow_log" "main" {
  vpc_id          = aws_vpc.main.id
  traffic_type    = "ALL"
  log_destination = aws_cloudwatch_log_group.flow.arn
  iam_role_arn    = aws_iam_role.flow.arn
}

# --- security groups ------------------------------------------------------------
# Rules are separate resources so that each pair (who may talk to whom) reads
# as one line and no group references another in a cycle.

resource "aws_security_group" "alb" {
  name        = "${local.prefix}-alb"
  description = "API load balancer"
  vpc_id      = aws_vpc.main.id
}

resource "aws_security_group" "api" {
  name        = "${local.prefix}-api"
  description = "vod-api tasks"
  vpc_id      = aws_vpc.main.id
}

resource "aws_security_group" "worker" {
  name        = "${local.prefix}-worker"
  description = "vod-worker tasks"
  vpc_id      = aws_vpc.main.id
}

resource "aws_security_group" "lambda" {
  name        = "${local.prefix}-lambda"
  description = "ingest Lambda"
  vpc_id      = aws_vpc.main.id
}

resource "aws_security_group" "postgres" {
  name        = "${local.prefix}-postgres"
  description = "RDS PostgreSQL"
  vpc_id      = aws_vpc.main.id
}

resource "aws_security_group" "redis" {
  name        = "${local.prefix}-redis"
  description = "ElastiCache Redis"
  vpc_id      = aws_vpc.main.id
}

resource "aws_security_group" "docdb" {
  name        = "${local.prefix}-docdb"
  description = "DocumentDB catalog"
  vpc_id      = aws_vpc.main.id
}

resource "aws_vpc_security_group_ingress_rule" "alb_https" {
  for_each          = toset(var.api_ingress_cidrs)
  security_group_id = aws_security_group.alb.id
  description       = "HTTPS from clients"
  cidr_ipv4         = each.value
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}


resource "aws_vpc_security_group_egress_rule" "alb_to_api" {
  security_group_id            = aws_security_group.alb.id
  description                  = "to the API tasks"
  referenced_security_group_id = aws_security_group.api.id
  ip_protocol                  = "tcp"
  from_port                    = 8080
  to_port                      = 8080
}

resource "aws_vpc_security_group_ingress_rule" "api_from_alb" {
  security_group_id            = aws_security_group.api.id
  description                  = "from the load balancer"
  referenced_security_group_id = aws_security_group.alb.id
  ip_protocol                  = "tcp"
  from_port                    = 8080
  to_port                      = 8080
}

locals {
  # Clients of the data stores and the port each store listens on.
  app_security_groups = {
    api    = aws_security_group.api.id
    worker = aws_security_group.worker.id
    lambda = aws_security_group.lambda.id
  }
  store_ports = {
    postgres = { sg = aws_security_group.postgres.id, port = 5432 }
    redis    = { sg = aws_security_group.redis.id, port = 6379 }
    docdb    = { sg = aws_security_group.docdb.id, port = 27017 }
  }
  app_store_pairs = {
    for pair in setproduct(keys(local.app_security_groups), keys(local.store_ports)) :
    "${pair[0]}-${pair[1]}" => { app = pair[0], store = pair[1] }
  }
}

resource "aws_vpc_security_group_ingress_rule" "store_from_app" {
  for_each                     = local.app_store_pairs
  security_group_id            = local.store_ports[each.value.store].sg
  description                  = "${each.value.store} from ${each.value.app}"
  referenced_security_group_id = local.app_security_groups[each.value.app]
  ip_protocol                  = "tcp"
  from_port                    = local.store_ports[each.value.store].port
  to_port                      = local.store_ports[each.value.store].port
}

resource "aws_vpc_security_group_egress_rule" "app_to_store" {
  for_each                     = local.app_store_pairs
  security_group_id            = local.app_security_groups[each.value.app]
  description                  = "${each.value.app} to ${each.value.store}"
  referenced_security_group_id = local.store_ports[each.value.store].sg
  ip_protocol                  = "tcp"
  from_port                    = local.store_ports[each.value.store].port
  to_port                      = local.store_ports[each.value.store].port
}

# HTTPS out: S3 (through the gateway endpoint), ECR, Secrets Manager, CloudWatch,
# MediaConvert, webhooks and pulls from URLs (API and workers).
resource "aws_vpc_security_group_egress_rule" "app_https" {
  for_each          = local.app_security_groups
  security_group_id = each.value
  description       = "${each.key} to AWS APIs and the internet over HTTPS"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}
