// Reading what a person types: prompts on stderr, the password without echo
// (termios). When stdin is not a terminal, plain lines are read without
// prompts, so scripts and tests can pipe the input.
#pragma once

#include <stdexcept>
#include <string>

namespace credbroker::cli {

// Standard input ended before the answer.
struct InputEnded : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Prompter {
 public:
  Prompter();
  bool interactive() const { return interactive_; }
  // One line (without the newline). Throws InputEnded on end of input.
  std::string Ask(const std::string& prompt, const std::string& what);
  // Same, with echo off on a terminal.
  std::string AskSecret(const std::string& prompt, const std::string& what);

 private:
  bool interactive_;
};

}  // namespace credbroker::cli
