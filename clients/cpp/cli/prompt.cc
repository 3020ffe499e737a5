// Terminal handling for the CLI's prompts. Echo is restored if the person
// presses Ctrl-C while typing the password.
#include "prompt.h"

#include <termios.h>
#include <unistd.h>

#include <csignal>
#include <iostream>

namespace credbroker::cli {
namespace {

struct termios saved_termios;
volatile sig_atomic_t echo_off = 0;

void RestoreAndReraise(int signal_number) {
  if (echo_off) tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
  std::signal(signal_number, SIG_DFL);
  std::raise(signal_number);
}

std::string ReadLine(const std::string& what) {
  std::string line;
  if (!std::getline(std::cin, line)) {
    throw InputEnded("standard input ended before the " + what);
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

}  // namespace

Prompter::Prompter() : interactive_(isatty(STDIN_FILENO) == 1) {}

std::string Prompter::Ask(const std::string& prompt, const std::string& what) {
  if (interactive_) std::cerr << prompt << std::flush;
  return ReadLine(what);
}

std::string Prompter::AskSecret(const std::string& prompt, const std::string& what) {
  if (!interactive_) return ReadLine(what);
  std::cerr << prompt << std::flush;
  if (tcgetattr(STDIN_FILENO, &saved_termios) != 0) return ReadLine(what);
  struct termios quiet = saved_termios;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  quiet.c_lflag |= ECHONL;
  auto old_int = std::signal(SIGINT, RestoreAndReraise);
  auto old_term = std::signal(SIGTERM, RestoreAndReraise);
  echo_off = 1;
  tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  std::string line;
  try {
    line = ReadLine(what);
  } catch (...) {
    tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
    echo_off = 0;
    std::signal(SIGINT, old_int);
    std::signal(SIGTERM, old_term);
    throw;
  }
  tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
  echo_off = 0;
  std::signal(SIGINT, old_int);
  std::signal(SIGTERM, old_term);
  return line;
}

}  // namespace credbroker::cli
