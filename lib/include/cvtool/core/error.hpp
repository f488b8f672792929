#pragma once
// The one exception type the library throws. The kind tells the CLI which
// exit code applies: usage/config/model errors stop a run before any work
// (exit 2); input errors fail one item while the batch goes on (exit 1).
#include <stdexcept>
#include <string>

namespace cvtool {

enum class ErrorKind {
  Usage,     // bad command line
  Config,    // bad or inconsistent configuration
  Model,     // model file missing, unreadable or not matching its family
  Input,     // one input could not be read or decoded
  Output,    // an artifact could not be written
  Internal,  // a bug: an invariant did not hold
};

const char* to_string(ErrorKind kind);

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

}  // namespace cvtool
