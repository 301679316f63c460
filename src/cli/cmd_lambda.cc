// rcc lambda: the counter function's custom-runtime loop, for local runs (the packaged `bootstrap` runs the
// same loop, lambda/function.h).
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "app/counter_function.h"
#include "lambda/function.h"
#include "rcc/env.h"

namespace rcc::cli {

void add_lambda_command(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("lambda", "Run the counter function's Lambda runtime loop");
  cmd->footer(lambda_function_help());
  auto print_env = std::make_shared<bool>(false);
  cmd->add_flag("--print-env", *print_env,
                "Print the names of the function's own environment variables, one per line, and exit");
  cmd->callback([&exit_code, print_env] {
    if (*print_env) {
      for (const FunctionVariable& v : function_variables()) std::cout << v.name << '\n';
      exit_code = 0;
      return;
    }
    exit_code = run_lambda_function(*Env::Default(), "rcc lambda");
  });
}

}  // namespace rcc::cli
