// Flags, latency samples and reports for the benchmark commands.
#include "bench/harness.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <thread>

namespace pathwise::bench {

Flags::Flags(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0) {
      values_["_positional"] += (values_["_positional"].empty() ? "" : " ") + arg;
      continue;
    }
    arg = arg.substr(2);
    auto eq = arg.find('=');
    if (eq != std::string::npos) {
      values_[arg.substr(0, eq)] = arg.substr(eq + 1);
    } else if (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0) {
      values_[arg] = argv[++i];
    } else {
      values_[arg] = "true";
    }
  }
}

std::string Flags::Get(const std::string& name, const std::string& def) const {
  auto it = values_.find(name);
  return it == values_.end() ? def : it->second;
}

int64_t Flags::GetInt(const std::string& name, int64_t def) const {
  auto it = values_.find(name);
  if (it == values_.end()) return def;
  try {
    // Accepts 1000000, 1e6, 1M, 100k.
    std::string v = it->second;
    double mult = 1;
    if (!v.empty() && (v.back() == 'k' || v.back() == 'K')) mult = 1e3, v.pop_back();
    if (!v.empty() && (v.back() == 'm' || v.back() == 'M')) mult = 1e6, v.pop_back();
    return static_cast<int64_t>(std::stod(v) * mult);
  } catch (...) {
    return def;
  }
}

double Flags::GetDouble(const std::string& name, double def) const {
  auto it = values_.find(name);
  if (it == values_.end()) return def;
  try {
    return std::stod(it->second);
  } catch (...) {
    return def;
  }
}

bool Flags::Has(const std::string& name) const { return values_.count(name) > 0; }

std::vector<std::string> Flags::Unknown(const std::vector<std::string>& known) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : values_) {
    if (k == "_positional") continue;
    if (std::find(known.begin(), known.end(), k) == known.end()) out.push_back(k);
  }
  return out;
}

double Samples::Percentile(double q) const {
  if (values_.empty()) return 0;
  std::vector<double> sorted = values_;
  std::sort(sorted.begin(), sorted.end());
  size_t rank = static_cast<size_t>(std::ceil(q * sorted.size()));
  if (rank == 0) rank = 1;
  return sorted[std::min(rank, sorted.size()) - 1];
}

double Samples::Mean() const {
  if (values_.empty()) return 0;
  return std::accumulate(values_.begin(), values_.end(), 0.0) / values_.size();
}

nlohmann::json Samples::ToJson() const {
  return {{"n", values_.size()},        {"p50_us", Percentile(0.5)}, {"p90_us", Percentile(0.9)},
          {"p99_us", Percentile(0.99)}, {"max_us", Percentile(1.0)}, {"mean_us", Mean()}};
}

Report::Report(std::string name) {
  json_ = {{"benchmark", name}, {"machine", MachineInfo()}, {"results", nlohmann::json::object()}};
  std::printf("== pathwise bench %s ==\n", name.c_str());
  std::printf("%-44s %8s %10s %10s %10s  %s\n", "measure", "n", "p50 us", "p99 us", "max us",
              "note");
  std::fflush(stdout);
}

void Report::Latency(const std::string& key, const Samples& s, const std::string& note) {
  nlohmann::json j = s.ToJson();
  if (!note.empty()) j["note"] = note;
  json_["results"][key] = j;
  std::printf("%-44s %8zu %10.1f %10.1f %10.1f  %s\n", key.c_str(), s.size(), s.Percentile(0.5),
              s.Percentile(0.99), s.Percentile(1.0), note.c_str());
  std::fflush(stdout);
}

void Report::Value(const std::string& key, double value, const std::string& unit,
                   const std::string& note) {
  nlohmann::json j = {{"value", value}, {"unit", unit}};
  if (!note.empty()) j["note"] = note;
  json_["results"][key] = j;
  std::printf("%-44s %14.4g %-12s %s\n", key.c_str(), value, unit.c_str(), note.c_str());
  std::fflush(stdout);
}

void Report::Info(const std::string& key, const nlohmann::json& value) { json_[key] = value; }

bool Report::WriteJson(const std::string& path) const {
  if (path.empty()) return true;
  std::ofstream out(path);
  if (!out) return false;
  out << json_.dump(2) << "\n";
  return static_cast<bool>(out);
}

nlohmann::json MachineInfo() {
  nlohmann::json j;
  j["cores"] = std::thread::hardware_concurrency();
  std::ifstream cpu("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpu, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      j["cpu"] = colon == std::string::npos ? line : line.substr(colon + 2);
      break;
    }
  }
  std::ifstream load("/proc/loadavg");
  std::string l1;
  if (load >> l1) j["loadavg_1m_at_start"] = l1;
  std::time_t now = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  j["date"] = buf;
  return j;
}

uint64_t DirectoryBytes(const std::string& dir) {
  std::error_code ec;
  uint64_t total = 0;
  if (!std::filesystem::exists(dir, ec)) return 0;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) total += it->file_size(ec);
  }
  return total;
}

int RunCommand(const char* name, int argc, char** argv, const std::vector<std::string>& known,
               const std::function<Status(const Flags&, Report*)>& run) {
  Flags flags(argc, argv);
  auto unknown = flags.Unknown(known);
  if (!unknown.empty()) {
    std::fprintf(stderr, "unknown option --%s (see pathwise bench --help)\n", unknown[0].c_str());
    return 2;
  }
  Report report(name);
  Status s = run(flags, &report);
  if (!s.ok()) {
    report.Info("error", s.ToString());
    std::fprintf(stderr, "bench %s failed: %s\n", name, s.ToString().c_str());
  }
  if (!report.WriteJson(flags.Get("json", ""))) {
    std::fprintf(stderr, "cannot write %s\n", flags.Get("json", "").c_str());
    return 2;
  }
  return s.ok() ? 0 : 2;
}

}  // namespace pathwise::bench
