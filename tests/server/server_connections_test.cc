// Slow and idle clients against a real server (issue 8): /health keeps answering from another
// address meanwhile.
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "raw_connection.h"
#include "server_fixture.h"

namespace pathwise::server::testing {
namespace {

TEST_CASE("20 slowloris and 20 idle connections do not stop /health from answering") {
  TempDir dir;
  ServerHarness h(dir.path());  // 4 worker threads at start, as in the fixture
  int port = h.server()->port();
  std::vector<std::unique_ptr<RawConnection>> slow;
  std::vector<std::unique_ptr<RawConnection>> idle;
  for (int i = 0; i < 20; ++i) {
    slow.push_back(std::make_unique<RawConnection>(port));
    REQUIRE(slow.back()->connected());
    REQUIRE(slow.back()->Send("G"));
    idle.push_back(std::make_unique<RawConnection>(port));
    REQUIRE(idle.back()->connected());
  }
  // Two rounds of one header byte per slow connection, 2 s apart (bounded: 2 rounds).
  for (int round = 0; round < 2; ++round) {
    std::this_thread::sleep_for(std::chrono::seconds(2));
    for (auto& conn : slow) conn->Send("E");
    for (const char* from : {"127.0.0.2", "127.0.0.1"}) {
      INFO(from);
      RawConnection probe(port, from, /*timeout_s=*/5);
      REQUIRE(probe.connected());
      REQUIRE(probe.Send("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
      std::string response = probe.ReceiveAll();
      CHECK(StatusOf(response) == 200);
    }
  }
}

}  // namespace
}  // namespace pathwise::server::testing
