#include "rcc/ec2.h"

namespace rcc {

std::vector<Ec2Filter> active_runner_filters(std::span<const std::string> environments) {
  return {
      Ec2Filter{"instance-state-name", {"pending", "running"}},
      Ec2Filter{"tag:" + std::string(kTagEnvironment), {environments.begin(), environments.end()}},
  };
}

std::vector<Ec2Filter> active_runner_filters(std::string_view environment) {
  const std::string environments[] = {std::string(environment)};
  return active_runner_filters(environments);
}

}  // namespace rcc
