// What the benchmarks share: a failure that says what went wrong, cleans up
// and exits; results unwrapped or fatal; counts read from the command line.
#pragma once

#include <cstdlib>
#include <functional>
#include <iostream>
#include <string>
#include <string_view>
#include <utility>

#include "relais/error.h"

namespace relais::bench {

// The benchmark's name, which starts its error messages.
inline std::string g_name = "relais_bench";
// Called by die() before it exits: removes the benchmark's files, stops the
// servers it started.
inline std::function<void()> g_cleanup;

[[noreturn]] inline void die(const std::string& what) {
  std::cerr << g_name << ": " << what << "\n";
  if (g_cleanup) g_cleanup();
  std::exit(1);
}

template <class T>
T check(Result<T> r, const std::string& what) {
  if (!r) die(what + ": " + r.error().message);
  return std::move(r).value();
}

inline void check(const Status& s, const std::string& what) {
  if (!s) die(what + ": " + s.error().message);
}

// The positive count that follows option argv[i], which i is moved past.
inline std::size_t count_option(int argc, char** argv, int& i) {
  const std::string_view option = argv[i];
  if (i + 1 >= argc) die(std::string(option) + " needs a number");
  const std::string text = argv[++i];
  char* end = nullptr;
  const unsigned long long n = std::strtoull(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || n == 0) die(std::string(option) + ": bad number " + text);
  return static_cast<std::size_t>(n);
}

}  // namespace relais::bench
