#pragma once
// Clean stops: the first SIGINT or SIGTERM asks the run to stop after the inputs in
// flight (input streams then end early); a second one kills the process at once.
namespace cvtool {

void install_stop_handlers();
bool stop_requested();
// The signal that asked for the stop, or 0.
int stop_signal();
// For tests and embedders.
void request_stop(int signal_number);

}  // namespace cvtool
