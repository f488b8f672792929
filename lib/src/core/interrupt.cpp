#include "cvtool/core/interrupt.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>

namespace cvtool {

namespace {

std::atomic<int> g_stop_signal{0};

void on_signal(int sig) {
  if (g_stop_signal.exchange(sig) != 0) {
    // Second signal: the user means it.
    ::signal(sig, SIG_DFL);
    ::raise(sig);
    return;
  }
  static const char msg[] = "\ncvtool: stopping after the inputs in flight (signal again to kill)\n";
  ssize_t ignored = ::write(2, msg, sizeof msg - 1);
  (void)ignored;
}

}  // namespace

void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

bool stop_requested() { return g_stop_signal.load(std::memory_order_relaxed) != 0; }
int stop_signal() { return g_stop_signal.load(); }
void request_stop(int signal_number) { g_stop_signal.store(signal_number); }

}  // namespace cvtool
