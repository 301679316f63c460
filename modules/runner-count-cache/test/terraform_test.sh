#!/usr/bin/env bash
# Runs Terraform itself on the module: `terraform test` (the plan-level tests in ../tests, mocked AWS
# provider, then the text of the missing-zip error), `terraform validate` of every example, or the
# policy test generated from the code (requests_from_code.mjs). Offline: the AWS provider comes from a local
# mirror (RCC_TF_PLUGIN_DIR, default /opt/tf-plugins). Works on a copy in a temporary directory, so
# nothing is written into the source tree.
#
# Usage: terraform_test.sh test|validate|policy <repository root>
# Exit 0 when every check passes, 1 on a failure, 77 (CTest SKIP_RETURN_CODE) when terraform or the
# provider mirror is not on the machine.
set -euo pipefail
mode="$1"
root="$2"
terraform_bin="${RCC_TERRAFORM:-$(command -v terraform || true)}"
plugin_dir="${RCC_TF_PLUGIN_DIR:-/opt/tf-plugins}"
if [[ -z "$terraform_bin" || ! -x "$terraform_bin" ]]; then
  echo "SKIPPED: terraform is not installed (set RCC_TERRAFORM or put terraform on PATH)"
  exit 77
fi
if [[ ! -d "$plugin_dir/registry.terraform.io/hashicorp/aws" ]]; then
  echo "SKIPPED: no hashicorp/aws provider mirror in $plugin_dir (set RCC_TF_PLUGIN_DIR)"
  exit 77
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r "$root/modules" "$root/examples" "$work/"
export TF_CLI_CONFIG_FILE=/dev/null TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1

init() {
  (cd "$1" && "$terraform_bin" init -backend=false -plugin-dir="$plugin_dir" -input=false -no-color >/dev/null) ||
    { echo "FAIL: terraform init in ${1#$work/}"; exit 1; }
}

case "$mode" in
  test)
    module="$work/modules/runner-count-cache"
    init "$module"
    (cd "$module" && "$terraform_bin" test -no-color)
    # A plan without a zip must fail with a message that says what to do. expect_failures in tests/
    # cannot read the message, so plan here once per architecture, expecting the failure, and check
    # its text (Terraform's line wrapping undone).
    # One file per architecture: a failed run skips the later runs of its file.
    mkdir "$module/zip_message_tests"
    for architecture in arm64 x86_64; do
      cat >"$module/zip_message_tests/$architecture.tftest.hcl" <<HCL
mock_provider "aws" {}
run "plan_without_zip_$architecture" {
  command = plan
  variables {
    prefix              = "ghr"
    environment_filter  = "prod"
    lambda_architecture = "$architecture"
  }
}
HCL
    done
    if output=$(cd "$module" && "$terraform_bin" test -no-color -test-directory=zip_message_tests 2>&1); then
      echo "FAIL: a plan without the function zip succeeded"
      exit 1
    fi
    text=$(tr -s ' \n' '  ' <<<"$output")
    for want in \
      'runner-count-cache-arm64.zip does not exist' \
      'cmake --build build --target lambda-package-arm64`' \
      'runner-count-cache-x86_64.zip does not exist' \
      'cmake --build build --target lambda-package`' \
      'set lambda_zip to that file' \
      'set lambda_s3_bucket and lambda_s3_key'; do
      if [[ "$text" != *"$want"* ]]; then
        echo "FAIL: the message for a missing zip does not say: $want"
        echo "$output"
        exit 1
      fi
    done
    echo "ok: a plan without the zip fails saying how to build it (arm64, x86_64) or where else to get it"
    ;;
  policy)
    # The module's policies against the requests the code sends (requests_from_code.mjs).
    module="$work/modules/runner-count-cache"
    mkdir "$module/policy_tests"
    node "$(dirname "$0")/requests_from_code.mjs" "$root" --tftest "$module/tests/module.tftest.hcl" \
      >"$module/policy_tests/policy.tftest.hcl"
    init "$module"
    (cd "$module" && "$terraform_bin" test -no-color -test-directory=policy_tests)
    ;;
  validate)
    status=0
    for example in "$work"/examples/*/; do
      [[ -n "$(find "$example" -maxdepth 1 -name '*.tf' -print -quit)" ]] || continue
      init "$example"
      if (cd "$example" && "$terraform_bin" validate -no-color); then
        echo "ok: examples/$(basename "$example")"
      else
        echo "FAIL: examples/$(basename "$example")"
        status=1
      fi
    done
    exit "$status"
    ;;
  *)
    echo "usage: $0 test|validate|policy <repository root>" >&2
    exit 2
    ;;
esac
