// How many decisions work at once (docs/decisions.md, "Overload"): a decision takes a token in
// arrival order; one that waited past its admission wait answers overload from the popular list,
// and a decision waiting for a worker lets another work meanwhile.
#include <chrono>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "decide/decision_gate.h"
#include "tests/decide/decide_fixture.h"

namespace pathwise::testing {
namespace {

using json = nlohmann::json;
using decide::DecisionGate;
using std::chrono::milliseconds;

TEST_CASE("a decision takes a free token at once and waits no longer than its time when none is free") {
  DecisionGate gate(2);
  auto now = DecisionGate::Clock::now();
  CHECK(gate.Enter(now + milliseconds(10'000)) == DecisionGate::Clock::duration::zero());
  CHECK(gate.Enter(now).has_value());  // free: taken even with no time left
  CHECK(gate.running() == 2);
  auto asked = DecisionGate::Clock::now();
  CHECK_FALSE(gate.Enter(asked + milliseconds(50)).has_value());
  CHECK(DecisionGate::Clock::now() - asked >= milliseconds(50));
  CHECK(gate.waiting() == 0);  // it left the queue
  CHECK(gate.running() == 2);
  gate.Leave();
  CHECK(gate.running() == 1);
  CHECK(gate.Enter(DecisionGate::Clock::now()).has_value());
}

TEST_CASE("concurrent waiting decisions get tokens in arrival order, and one resuming after a worker first") {
  DecisionGate gate(1);
  REQUIRE(gate.Enter(DecisionGate::Clock::now()).has_value());
  std::mutex mu;
  std::vector<int> order;
  auto waiter = [&](int name, bool first) {
    return std::async(std::launch::async, [&, name, first] {
      auto waited = gate.Enter(DecisionGate::Clock::now() + milliseconds(10'000), first);
      {
        std::lock_guard<std::mutex> lock(mu);
        order.push_back(name);
      }
      gate.Leave();
      return waited.has_value();
    });
  };
  auto wait_for = [&](size_t n) {
    while (gate.waiting() < n) std::this_thread::sleep_for(milliseconds(1));
  };
  auto w1 = waiter(1, false);
  wait_for(1);
  auto w2 = waiter(2, false);
  wait_for(2);
  auto w3 = waiter(3, /*first=*/true);
  wait_for(3);
  gate.Leave();
  CHECK(w1.get());
  CHECK(w2.get());
  CHECK(w3.get());
  CHECK(order == std::vector<int>{3, 1, 2});
  CHECK(gate.running() == 0);
}

// One token; decision A holds it while its primary's source is delayed to the step's budget.
struct HeldToken {
  DecideFixture f;
  decide::Decider* decider = nullptr;

  explicit HeldToken(int64_t max_admission_wait_ms) {
    f.Define("slow", DecideFixture::Surface({{"deadline_ms", 400}, {"fallbacks", json::array()}}));
    f.Define("hot_only", DecideFixture::Surface({{"recipe", "hot"}, {"fallbacks", json::array()}}));
    decide::DeciderOptions options;
    options.max_running_decisions = 1;
    options.max_running_steps = 4;
    options.max_admission_wait_ms = max_admission_wait_ms;
    options.enable_fault_injection = true;
    decider = &f.MakeDecider(options);
    // Warm the popular list, however slow the build.
    f.Decide("hot_only", {{"user", "u1"}, {"deadline_ms", 10000}});
  }
  void WaitUntilHeld() {
    while (decider->Metrics().value("decisions_running", 0) < 1) {
      std::this_thread::sleep_for(milliseconds(1));
    }
  }
};

TEST_CASE("a decision that waited for a token past its admission wait answers overload from the popular list") {
  HeldToken h(/*max_admission_wait_ms=*/50);
  REQUIRE(h.decider->SetFault({{"target", "source:viewed_similar"}, {"delay_ms", 5000}}).ok());
  auto held = std::async(std::launch::async, [&] { return h.decider->Decide("slow", {{"user", "u1"}}); });
  h.WaitUntilHeld();
  json d = h.f.Decide("hot_only", {{"user", "u1"}, {"deadline_ms", 5000}});
  INFO(d.dump());
  CHECK(DecideFixture::HasReason(d, "overload"));
  CHECK(d["served_by"] == "popular");
  CHECK(d["degraded"] == true);
  CHECK(d["items"].size() == 5);
  CHECK(d["timings"]["admission_us"].get<int64_t>() > 50'000);
  for (const json& step : d["timings"]["steps"]) CHECK(step.value("run", "") == "");
  CHECK(h.decider->Metrics().value("decisions_shed", 0) == 1);
  REQUIRE(held.get().ok());
  // The token is free again: the next decision runs its recipe.
  json after = h.f.Decide("hot_only", {{"user", "u1"}});
  CHECK(after["served_by"] == "primary");
  CHECK(after["timings"]["admission_us"] == 0);
}

TEST_CASE("a decision that waited for a token within its admission wait runs its chain") {
  HeldToken h(/*max_admission_wait_ms=*/0);  // a fifth of the deadline: 1 s of 5 s
  REQUIRE(h.decider->SetFault({{"target", "source:viewed_similar"}, {"delay_ms", 5000}}).ok());
  auto held = std::async(std::launch::async, [&] { return h.decider->Decide("slow", {{"user", "u1"}}); });
  h.WaitUntilHeld();
  json d = h.f.Decide("hot_only", {{"user", "u1"}, {"deadline_ms", 5000}});
  INFO(d.dump());
  CHECK(d["served_by"] == "primary");
  CHECK_FALSE(DecideFixture::HasReason(d, "overload"));
  CHECK(d["timings"]["admission_us"].get<int64_t>() > 0);
  REQUIRE(held.get().ok());
}

TEST_CASE("a decision waiting for a worker lets another decision take its token") {
  HeldToken h(/*max_admission_wait_ms=*/50);
  // A recipe fault isolates the recipe: its steps run on a worker, which the fault holds.
  REQUIRE(h.decider->SetFault({{"target", "recipe:similar"}, {"delay_ms", 1000}}).ok());
  auto held = std::async(std::launch::async, [&] { return h.decider->Decide("slow", {{"user", "u1"}}); });
  while (h.decider->Metrics().value("steps_worker", 0) < 1) std::this_thread::sleep_for(milliseconds(1));
  json d = h.f.Decide("hot_only", {{"user", "u1"}, {"deadline_ms", 5000}});
  INFO(d.dump());
  CHECK(d["served_by"] == "primary");
  CHECK_FALSE(DecideFixture::HasReason(d, "overload"));
  auto slow = held.get();
  REQUIRE(slow.ok());
  CHECK(DecideFixture::HasReason(*slow, "source_timeout:similar"));
  CHECK(slow->value("served_by", "") == "popular");
}

}  // namespace
}  // namespace pathwise::testing
