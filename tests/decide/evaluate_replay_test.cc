// Off-policy evaluation from the impression log (docs/feedback-loop.md, "Off-policy
// evaluation"): IPS and self-normalised IPS of a recipe on a constructed log whose answer is
// known.
#include <chrono>
#include <cstdio>

#include "tests/decide/decide_fixture.h"

namespace pathwise::testing {
namespace {

using json = nlohmann::json;

std::string IdAt(int64_t ms, int tail) {
  char buf[33];
  std::snprintf(buf, sizeof buf, "%012llx%020d", static_cast<unsigned long long>(ms), tail);
  return buf;
}

// One slot, a logging policy that showed i25 with probability 0.2 and i3 with 0.8: 40 decisions
// of i25 (32 clicked: its click rate is 0.8) and 160 of i3 (32 clicked: 0.2), all to u1.
// The "hot" recipe ranks i25 first for everyone, so its true click rate is 0.8; the logged
// click rate is 64 / 200 = 0.32.
int64_t WriteLog(DecideFixture& f) {
  int64_t t = 1'800'000'000'000;
  int n = 0;
  for (const auto& [item, shown, clicked, p] :
       {std::tuple<const char*, int, int, double>{"i25", 40, 32, 0.2}, {"i3", 160, 32, 0.8}}) {
    for (int i = 0; i < shown; ++i, ++n) {
      std::string id = IdAt(t + n, n);
      WriteSet set;
      json record = {{"surface", "row"}, {"user", "u1"},
                     {"items", json::array({{{"id", item}, {"slot", 0}, {"propensity", p}}})}};
      set.ops.push_back(ImpressionWrite{id, record, 24 * 3600 * 1000});
      REQUIRE(f.db->Apply(set).ok());
      if (i >= clicked) continue;
      WriteSet click;
      click.ops.push_back(OutcomeWrite{id, "e" + std::to_string(n), "click", item, t + n + 1000});
      REQUIRE(f.db->Apply(click).ok());
    }
  }
  return t;
}

TEST_CASE("IPS and self-normalised IPS recover a recipe's known click rate from a logged policy") {
  DecideFixture f;
  f.Define("row", DecideFixture::Surface({{"k", 1}}));
  int64_t t = WriteLog(f);
  decide::ReplayEvaluationOptions o;
  o.surface = "row";
  o.recipe = "hot";
  o.since_ms = t;
  o.until_ms = t + 3'600'000;
  auto r = decide::EvaluateReplay(f.db.get(), o);
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  CHECK((*r)["decisions"] == 200);
  CHECK((*r)["matched"] == 40);
  CHECK((*r)["logged_ctr"].get<double>() == doctest::Approx(0.32));
  CHECK((*r)["ips"]["value"].get<double>() == doctest::Approx(0.8));
  CHECK((*r)["snips"]["value"].get<double>() == doctest::Approx(0.8));
  for (const char* estimator : {"ips", "snips"}) {
    double low = (*r)[estimator]["low"], high = (*r)[estimator]["high"];
    CHECK(low <= 0.8);
    CHECK(high >= 0.8);
    CHECK(high - low < 0.6);
  }
  CHECK((*r)["effective_sample_size"].get<double>() == doctest::Approx(40));
  CHECK_FALSE((*r)["assumptions"].empty());

  // "similar" puts i14 first for u1: it never matches the log, so IPS is 0 and SNIPS undefined.
  o.recipe = "similar";
  auto none = decide::EvaluateReplay(f.db.get(), o);
  REQUIRE(none.ok());
  CHECK((*none)["ips"]["value"].get<double>() == 0.0);
  CHECK((*none)["snips"].is_null());
}

TEST_CASE("replay evaluation rejects an unknown surface or recipe and an empty range") {
  DecideFixture f;
  f.Define("row", DecideFixture::Surface({{"k", 1}}));
  decide::ReplayEvaluationOptions o;
  o.surface = "row";
  o.recipe = "hot";
  o.since_ms = 10;
  o.until_ms = 10;
  CHECK(decide::EvaluateReplay(f.db.get(), o).status().code() == Status::Code::kInvalidArgument);
  o.until_ms = 20;
  o.surface = "nope";
  CHECK(decide::EvaluateReplay(f.db.get(), o).status().code() == Status::Code::kNotFound);
  o.surface = "row";
  o.recipe = "nope";
  CHECK(decide::EvaluateReplay(f.db.get(), o).status().code() == Status::Code::kNotFound);
}

}  // namespace
}  // namespace pathwise::testing
