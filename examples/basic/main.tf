provider "aws" {
  region = var.aws_region
}

# The usage snippet of modules/runner-count-cache/README.md; only `source` differs, because this
# example lives two directories below the repository root. Build the zip first:
#   cmake --build build --target lambda-package-arm64
module "runner_count_cache" {
  source = "../../modules/runner-count-cache"

  prefix             = "github-runners"
  environment_filter = "production"

  tags = {
    Environment = "production"
  }
}
