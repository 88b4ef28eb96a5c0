// Shared pieces of the benchmark commands: flag parsing, latency samples and reports.
#pragma once

#include <chrono>
#include <ctime>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "storage/status.h"

namespace pathwise::bench {

// `--name value` and `--flag` arguments (argv[0] is the subcommand name).
class Flags {
 public:
  Flags(int argc, char** argv);
  std::string Get(const std::string& name, const std::string& def) const;
  int64_t GetInt(const std::string& name, int64_t def) const;
  double GetDouble(const std::string& name, double def) const;
  bool Has(const std::string& name) const;
  // Names given that are not in known; printed as an error by the caller.
  std::vector<std::string> Unknown(const std::vector<std::string>& known) const;

 private:
  std::map<std::string, std::string> values_;
};

inline double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// CPU time the calling thread has used, in seconds: unlike NowSeconds it does not advance while
// the thread waits for a core, so on a shared machine it measures the work, not the queue.
inline double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// CPU time of the whole process (every thread), in seconds.
inline double ProcessCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Latency samples in microseconds.
class Samples {
 public:
  void Add(double micros) { values_.push_back(micros); }
  size_t size() const { return values_.size(); }
  const std::vector<double>& values() const { return values_; }
  // q in [0, 1]; nearest-rank on a sorted copy. 0 when empty.
  double Percentile(double q) const;
  double Mean() const;
  // {"n","p50_us","p90_us","p99_us","max_us","mean_us"}
  nlohmann::json ToJson() const;

 private:
  std::vector<double> values_;
};

// Collects named results for the JSON output and prints a human table row per result.
class Report {
 public:
  explicit Report(std::string name);
  // A latency row: prints "name  n  p50  p99  max  [target ...]".
  void Latency(const std::string& key, const Samples& s, const std::string& note = "");
  // A scalar row: prints "name  value unit".
  void Value(const std::string& key, double value, const std::string& unit,
             const std::string& note = "");
  void Info(const std::string& key, const nlohmann::json& value);
  nlohmann::json& json() { return json_; }
  // Writes the JSON to path (if non-empty). Returns false on I/O error.
  bool WriteJson(const std::string& path) const;

 private:
  nlohmann::json json_;
};

// The shell of a `pathwise bench` subcommand: rejects flags not in `known` (exit 2), runs `run`
// into a Report named `name`, records its error in the report and on stderr, and writes the
// report to --json. Returns the exit code: 0, or 2 when anything failed.
int RunCommand(const char* name, int argc, char** argv, const std::vector<std::string>& known,
               const std::function<Status(const Flags&, Report*)>& run);

// Machine description for the report: cores, CPU model, load average, date.
nlohmann::json MachineInfo();

// Bytes of all regular files under dir (0 if absent).
uint64_t DirectoryBytes(const std::string& dir);

}  // namespace pathwise::bench
