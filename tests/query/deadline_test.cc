// Deadline checks inside the stages that used to run long between two clock reads: lexing a
// large text, waiting for the parser, and MATCH binding tables that span many chunks (RowTable)
// and are freed by the Reclaimer. Each case checks behaviour only — the error is DeadlineExceeded,
// and without a deadline the results are exact — never how long anything took.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "query/ast.h"
#include "query/reclaimer.h"
#include "query/row_table.h"
#include "tests/query/database_test_util.h"

namespace pathwise::testing {
namespace {

using json = nlohmann::json;

// About 60 KB: far more tokens than one lexer deadline interval (256 tokens).
std::string LongInList() {
  std::string text = "MATCH (i:Item) WHERE i.id IN ['x'";
  for (int k = 0; text.size() < 60000; ++k) text += ", 'n" + std::to_string(k) + "'";
  return text + "] RETURN count(*)";
}

TEST_CASE("a deadline that passes while a large text is parsed ends it with DeadlineExceeded") {
  // Parsing this text takes far longer than 200 us, so the deadline passes during the parse
  // (mostly while lexing); whichever check notices it, the result is DeadlineExceeded.
  std::string text = LongInList();
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto stmt = query::ast::Parse(text, query::Limits{},
                                  Deadline::At(Deadline::Clock::now() + std::chrono::microseconds(200)));
    REQUIRE_FALSE(stmt.ok());
    CHECK(stmt.status().code() == Status::Code::kDeadlineExceeded);
  }
  // Without a deadline the same text parses.
  CHECK(query::ast::Parse(text, query::Limits{}, Deadline::Never()).ok());
}

TEST_CASE("a large IN list query ends with DeadlineExceeded at a tiny deadline, exact without") {
  TempDir dir;
  auto db = DenseDb(dir.path, 50, 1);
  // Through the Engine, whose parses hand their ANTLR state to its Reclaimer.
  QueryOptions tiny;
  tiny.deadline = Deadline::At(Deadline::Clock::now() + std::chrono::microseconds(200));
  auto late = db->Query(LongInList(), json::object(), tiny);
  REQUIRE_FALSE(late.ok());
  CHECK(late.status().code() == Status::Code::kDeadlineExceeded);
  auto result = db->Query(LongInList(), json::object());
  REQUIRE_MESSAGE(result.ok(), result.status().ToString());
  CHECK(result->rows[0][0] == 50);  // n0 .. n49 are all in the list
}

TEST_CASE("a query whose deadline passes while it waits for the parser gets DeadlineExceeded") {
  // One thread parses large texts back to back; queries with a short deadline on another
  // thread end with DeadlineExceeded whether they waited for the parser or parsed themselves.
  std::string text = LongInList();
  std::atomic<bool> stop{false};
  std::thread busy([&] {
    while (!stop.load()) (void)query::ast::Parse(text, query::Limits{}, Deadline::Never());
  });
  for (int i = 0; i < 5; ++i) {
    auto stmt = query::ast::Parse(text, query::Limits{},
                                  Deadline::At(Deadline::Clock::now() + std::chrono::microseconds(200)));
    REQUIRE_FALSE(stmt.ok());
    CHECK(stmt.status().code() == Status::Code::kDeadlineExceeded);
  }
  stop = true;
  busy.join();
}

TEST_CASE("a binding table keeps every row in order across many chunks") {
  const size_t width = 3;
  query::RowTable table(width);
  const size_t rows = 5 * query::RowTable::kChunkBytes / (width * sizeof(query::Slot)) + 7;
  size_t grown = 0;
  for (size_t r = 0; r < rows; ++r) {
    std::vector<query::Slot> row(width);
    for (size_t c = 0; c < width; ++c) row[c].node = static_cast<NodeId>(r * width + c);
    grown += table.BytesToGrow();
    table.Append(row.data());
  }
  REQUIRE(table.rows() == rows);
  CHECK(table.bytes() == grown);
  CHECK(table.bytes() >= rows * width * sizeof(query::Slot));
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c = 0; c < width; ++c) REQUIRE(table.Row(r)[c].node == r * width + c);
  }
  query::RowTable moved = std::move(table);
  CHECK(moved.rows() == rows);
  CHECK(moved.Row(rows - 1)[width - 1].node == rows * width - 1);
}

TEST_CASE("the reclaimer destroys what it is handed") {
  auto counter = std::make_shared<int>(0);
  {
    query::Reclaimer reclaimer;
    reclaimer.Dispose(std::shared_ptr<int>(counter));
    reclaimer.Dispose(std::vector<int>(1000, 1));
    reclaimer.Drain();
    CHECK(counter.use_count() == 1);
    reclaimer.Dispose(std::shared_ptr<int>(counter));
  }  // the destructor destroys what is still queued
  CHECK(counter.use_count() == 1);
}

TEST_CASE("a MATCH whose binding tables span many chunks counts exactly, and stops at a deadline") {
  TempDir dir;
  auto db = DenseDb(dir.path, 200, 10);
  // 200 * 10^3 = 200,000 bindings of four slots (25 MB): hundreds of chunks in the last table.
  const std::string text =
      "MATCH (a:Item)-[:SIMILAR]->(b)-[:SIMILAR]->(c)-[:SIMILAR]->(d) RETURN count(*)";
  auto all = db->Query(text, json::object());
  REQUIRE_MESSAGE(all.ok(), all.status().ToString());
  CHECK(all->rows[0][0] == 200 * 10 * 10 * 10);
  QueryOptions options;
  options.deadline = Deadline::At(Deadline::Clock::now() + std::chrono::microseconds(500));
  auto late = db->Query(text, json::object(), options);
  REQUIRE_FALSE(late.ok());
  CHECK(late.status().code() == Status::Code::kDeadlineExceeded);
  // The next query on the same engine is unaffected by the tables handed to the reclaimer.
  auto again = db->Query(text, json::object());
  REQUIRE(again.ok());
  CHECK(again->rows[0][0] == all->rows[0][0]);
}

TEST_CASE("a variable-length MATCH from a hub stops at its deadline; MAX caps each of its hops") {
  TempDir dir;
  auto db = DenseDb(dir.path, 2000, 30);
  // From n0: 30 + 30^2 + 30^3 + 30^4 (over 800,000) walks of up to four hops.
  const std::string text = "MATCH (a:Item {id: 'n0'})-[:SIMILAR*1..4]->(b) RETURN count(*)";
  // The first run parses and caches the plan, so the second spends its 2 ms walking.
  for (int run = 0; run < 2; ++run) {
    QueryOptions options;
    options.deadline = Deadline::At(Deadline::Clock::now() + std::chrono::milliseconds(run ? 2 : 50));
    auto late = db->Query(text, json::object(), options);
    REQUIRE_FALSE(late.ok());
    CHECK((late.status().code() == Status::Code::kDeadlineExceeded ||
           late.status().code() == Status::Code::kResourceExhausted));
  }
  // With MAX 5 every hop follows the 5 strongest edges: 5 + 25 + 125 walks, exactly.
  auto capped = db->Query(
      "MATCH (a:Item {id: 'n0'})-[:SIMILAR*1..3 MAX 5]->(b) RETURN count(*)", json::object());
  REQUIRE_MESSAGE(capped.ok(), capped.status().ToString());
  CHECK(capped->rows[0][0] == 155);
}

TEST_CASE("a COUNT subquery from a hub stops at its deadline; MAX caps each of its hops") {
  TempDir dir;
  auto db = DenseDb(dir.path, 2000, 30);
  // From n0: 30^5 (24 million) five-hop paths, each walked by the subquery: seconds of work.
  const std::string text =
      "MATCH (a:Item {id: 'n0'}) RETURN COUNT { (a)-[:SIMILAR]->()-[:SIMILAR]->()-[:SIMILAR]->()"
      "-[:SIMILAR]->()-[:SIMILAR]->() } AS n";
  for (int run = 0; run < 2; ++run) {  // the first run also parses; the second only walks
    QueryOptions options;
    options.deadline = Deadline::At(Deadline::Clock::now() + std::chrono::milliseconds(run ? 2 : 50));
    auto late = db->Query(text, json::object(), options);
    REQUIRE_FALSE(late.ok());
    CHECK(late.status().code() == Status::Code::kDeadlineExceeded);
  }
  // With MAX 5 on every hop: 5^3 paths of three hops, exactly.
  auto capped = db->Query(
      "MATCH (a:Item {id: 'n0'}) RETURN COUNT { (a)-[:SIMILAR MAX 5]->()-[:SIMILAR MAX 5]->()"
      "-[:SIMILAR MAX 5]->() } AS n",
      json::object());
  REQUIRE_MESSAGE(capped.ok(), capped.status().ToString());
  CHECK(capped->rows[0][0] == 125);
}

}  // namespace
}  // namespace pathwise::testing
