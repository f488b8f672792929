#include "cvtool/core/error.hpp"

namespace cvtool {

const char* to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::Usage: return "usage error";
    case ErrorKind::Config: return "config error";
    case ErrorKind::Model: return "model error";
    case ErrorKind::Input: return "input error";
    case ErrorKind::Output: return "output error";
    case ErrorKind::Internal: return "internal error";
  }
  return "error";
}

}  // namespace cvtool
