// docs/openapi.yaml and the server agree: every documented path+method is routed, and error
// responses have the documented Error shape.
#include <fstream>
#include <regex>
#include <sstream>

#include "server/assets.h"
#include "server_fixture.h"

namespace pathwise::server::testing {
namespace {

struct Operation {
  std::string method;
  std::string path;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// A minimal reader for our YAML layout: "paths:" then two-space path keys and four-space
// method keys.
std::vector<Operation> DocumentedOperations(const std::string& yaml) {
  std::vector<Operation> ops;
  std::istringstream in(yaml);
  std::string line;
  bool in_paths = false;
  std::string path;
  std::regex path_re(R"(^  (/[^:\s]*):\s*$)");
  std::regex method_re(R"(^    (get|post|put|patch|delete):\s*$)");
  std::smatch match;
  while (std::getline(in, line)) {
    if (line == "paths:") {
      in_paths = true;
      continue;
    }
    if (!in_paths) continue;
    if (!line.empty() && line[0] != ' ') break;
    if (std::regex_match(line, match, path_re)) {
      path = match[1];
    } else if (std::regex_match(line, match, method_re)) {
      std::string method = match[1];
      for (char& c : method) c = static_cast<char>(std::toupper(c));
      ops.push_back({method, path});
    }
  }
  return ops;
}

std::string Concrete(std::string path) {
  static const std::map<std::string, std::string> kSamples = {
      {"{name}", "sample"}, {"{type}", "Item"},        {"{id}", "i1"},
      {"{space}", "Item.embedding"}, {"{file}", "index.html"}};
  for (const auto& [param, value] : kSamples) {
    size_t pos;
    while ((pos = path.find(param)) != std::string::npos) path.replace(pos, param.size(), value);
  }
  return path;
}

TEST_CASE("the served openapi document is the one in docs") {
  TempDir dir;
  ServerHarness h(dir.path());
  auto client = h.Client();
  auto res = client.Get("/v1/openapi.yaml");
  REQUIRE(res);
  CHECK(res->body == ReadFile(std::string(PATHWISE_SOURCE_DIR) + "/docs/openapi.yaml"));
}

TEST_CASE("every path and method in openapi.yaml is routed and errors have the error shape") {
  std::string yaml = ReadFile(std::string(PATHWISE_SOURCE_DIR) + "/docs/openapi.yaml");
  std::vector<Operation> ops = DocumentedOperations(yaml);
  REQUIRE(ops.size() >= 25);
  TempDir dir;
  ServerHarness h(dir.path());
  auto client = h.Client();
  for (const Operation& op : ops) {
    std::string path = Concrete(op.path);
    INFO(op.method << " " << path);
    auto headers = h.Auth("admin");
    httplib::Result res =
        op.method == "GET"    ? client.Get(path, headers)
        : op.method == "POST" ? client.Post(path, headers, "{}", "application/json")
        : op.method == "PUT"  ? client.Put(path, headers, "{}", "application/json")
        : op.method == "PATCH" ? client.Patch(path, headers, "{}", "application/json")
                               : client.Delete(path, headers);
    REQUIRE(res);
    INFO(res->body);
    CHECK(res->status != 405);
    if (res->status >= 400) {
      REQUIRE(HasErrorShape(res->body));
      CHECK(Json(res)["error"]["message"] != "no such endpoint");
      CHECK(res->status < 500);
    }
  }
}

}  // namespace
}  // namespace pathwise::server::testing
