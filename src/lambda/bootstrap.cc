// bootstrap: the counter function's executable in the Lambda package (provided.al2023 runs it with no
// arguments). Only the Runtime API loop and the function: no command line, no simulator.
#include <iostream>
#include <string_view>

#include "lambda/function.h"
#include "rcc/env.h"

int main(int argc, char** argv) {
  if (argc == 2 && (std::string_view(argv[1]) == "--help" || std::string_view(argv[1]) == "-h")) {
    std::cout << "Usage: bootstrap (started by AWS Lambda, with no arguments)\n\n" << rcc::lambda_function_help();
    return 0;
  }
  if (argc > 1) {
    std::cerr << "bootstrap: takes no arguments (AWS Lambda starts it without any); see bootstrap --help\n";
    return 2;
  }
  return rcc::run_lambda_function(*rcc::Env::Default(), "bootstrap");
}
