terraform {
  # 1.11: write-only attributes and S3-native state locking (`use_lockfile`).
  required_version = ">= 1.11.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }

  # State holds the generated database passwords: keep it in an encrypted,
  # versioned bucket. Partial configuration, completed at `terraform init`
  # (see README.md): -backend-config="bucket=..." -backend-config="key=..." etc.
  backend "s3" {}
}

provider "aws" {
  region = var.region

  default_tags {
    tags = merge(var.tags, {
      Project     = var.name
      Environment = var.environment
      ManagedBy   = "terraform"
    })
  }
}
