#include "rcc/ec2.h"

namespace rcc {

std::vector<Ec2Filter> active_runner_filters(std::string_view environment) {
  return {
      Ec2Filter{"instance-state-name", {"pending", "running"}},
      Ec2Filter{"tag:" + std::string(kTagEnvironment), {std::string(environment)}},
  };
}

}  // namespace rcc
