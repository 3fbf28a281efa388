// Error checking shared by every native op. A failed check throws std::invalid_argument, which
// pybind11 turns into ValueError; rtmer.motion turns that into an RtmerError with the remedy.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace rtmer {

template <typename... Args>
[[noreturn]] inline void fail(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  throw std::invalid_argument(os.str());
}

}  // namespace rtmer

#define RTMER_CHECK(cond, ...)          \
  do {                                  \
    if (!(cond)) ::rtmer::fail(__VA_ARGS__); \
  } while (0)
