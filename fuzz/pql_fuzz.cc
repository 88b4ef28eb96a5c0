// Fuzzes PQL parse + bind + plan + execute through the public API (Database::Query) against the
// shop_small fixture (tests/queries/fixtures). Input: the query text, optionally followed by a
// line "%%" and a JSON object of parameters (default parameters otherwise).
// Properties: no crash, no hang beyond the deadline's reach, every result serializes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/fuzz_util.h"

namespace {

using pathwise::Database;

const nlohmann::json& DefaultParams() {
  static const nlohmann::json params = {
      {"user", "u1"},          {"item", "i1"},        {"ids", {"i2", "i8", "nope"}},
      {"v", {0, 0, 2, 0}},     {"n", 2},              {"seller", "s1"},
      {"sellers", {"s2"}},     {"genres", {"games"}}, {"max_price", 20},
      {"per", 2},              {"skip", {"i2"}}};
  return params;
}

Database& Db() {
  static pathwise::fuzz::ScratchDir dir("pql");
  // Never destroyed: closing a Database from a static destructor runs after RocksDB's own
  // statics are gone (it crashed in rocksdb::Log). Still reachable, so not a leak report.
  static Database* db = pathwise::fuzz::OpenWithFixture(
      dir.path() + "/data", PATHWISE_SOURCE_DIR "/tests/queries/fixtures/shop_small.ndjson")
                            .release();
  return *db;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string_view text = input;
  nlohmann::json params = DefaultParams();
  if (size_t split = input.find("\n%%\n"); split != std::string_view::npos) {
    text = input.substr(0, split);
    nlohmann::json parsed = nlohmann::json::parse(input.substr(split + 4), nullptr, false);
    params = parsed.is_object() ? std::move(parsed) : nlohmann::json::object();
  }
  pathwise::QueryOptions options;
  options.deadline = pathwise::Deadline::AfterMillis(200);
  options.max_rows = 1000;
  options.now_ms = 1700000000000;
  auto result = Db().Query(text, params, options);
  if (result.ok()) {
    // The server serializes results this way; it must not throw on any value a query returns.
    (void)result->ToJson().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else {
    (void)result.status().ToString();
  }
  return 0;
}
