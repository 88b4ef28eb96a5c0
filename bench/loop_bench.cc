// `pathwise bench loop`: simulated users against a real server over HTTP (docs/feedback-loop.md,
// "Simulated users"). A synthetic world with ground-truth latent factors; three surfaces (a
// personal recipe with Thompson-sampling exploration slots, the same recipe without, and a
// popularity recipe), each on its own server and database with every user (paired) or on one
// server with the users split between them; each round every user asks for a decision, clicks by
// the true probabilities and sends the clicks with their recommendation_id. Reports CTR per
// round and overall (95% Wilson intervals), the CTR differences between surfaces (bootstrap over
// users), coverage, the uptake of a liked item injected half way, and the IPS / SNIPS estimates
// of the exploit policy from the exploring surface's log (decide::EvaluateReplay, as `pathwise
// evaluate replay`) beside its measured CTR.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <httplib.h>

#include "bench/commands.h"
#include "bench/harness.h"
#include "bench/loop_figures.h"
#include "bench/loop_world.h"
#include "decide/decide.h"
#include "server/server.h"

namespace pathwise::bench {
namespace {

using json = nlohmann::json;
using loop::EdgeLine;
using loop::Fixed;
using loop::kNewItem;
using loop::Rng;
using loop::World;
using loop::WorldOptions;

constexpr const char* kSurfaces[3] = {"explore", "exploit", "popular"};

// The exploit policy (the explore and exploit surfaces' recipe): items similar (by content) to
// what the user clicked, plus a little popularity.
constexpr const char* kPersonalQuery = R"(RECOMMEND (c:Item) FOR (u:User {id: $user})
  FROM (u)-[v:CLICKED]->(:Item)-[s:SIMILAR_TO]->(c) MAX 50 PER NODE AS similar
  WHERE NOT (u)-[:CLICKED]->(c)
  SCORE sum(v.weight * s.weight) + 0.1 * log(1 + degree(c, 'CLICKED', 'in'))
  LIMIT $limit)";

// The popular surface's recipe: the most clicked items the user has not clicked.
constexpr const char* kPopularQuery = R"(RECOMMEND (c:Item) FOR (u:User {id: $user})
  FROM (g:Catalog {id: 'all'})<-[h:IN_CATALOG]-(c) MAX 100000 PER NODE AS catalog
  WHERE NOT (u)-[:CLICKED]->(c)
  SCORE log(1 + degree(c, 'CLICKED', 'in'))
  LIMIT $limit)";

std::string Describe(const httplib::Result& r) {
  if (!r) return "transport error " + httplib::to_string(r.error());
  if (r->status != 200) return "HTTP " + std::to_string(r->status) + ": " + r->body.substr(0, 300);
  return "";
}

Status Call(httplib::Result r, const std::string& what, json* body = nullptr) {
  if (std::string e = Describe(r); !e.empty()) return Status::Internal(what + ": " + e);
  if (body) *body = json::parse(r->body, nullptr, false);
  return Status::OK();
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Tally {
  size_t decisions = 0, non_ok = 0, impressions = 0, clicks = 0, attributed = 0;
  size_t new_item_users = 0;  // decisions whose list held the injected item
  // What the impression log should hold: decisions answered with "impression_logged": true,
  // their items, and the clicks sent on them (a log write may fail under load; the decision
  // is still answered, docs/feedback-loop.md).
  size_t logged_decisions = 0, logged_impressions = 0, logged_clicks = 0;
  std::string first_error;
};

// One round's decisions of one user: what was shown and which slots were clicked.
struct Served {
  size_t user = 0, surface = 0;
  std::string recommendation_id;
  std::vector<std::string> items;
  std::vector<bool> clicked;
  bool ok = false, logged = false;
  std::string error;
};

Status Setup(httplib::Client& client, const WorldOptions& o) {
  PW_RETURN_IF_ERROR(Call(
      client.Put("/v1/admin/event-types", R"({"click":{"edge":"CLICK_LOG"}})", "application/json"),
      "PUT /v1/admin/event-types"));
  for (const auto& [name, query] :
       {std::pair<const char*, const char*>{"loop_personal", kPersonalQuery},
        {"loop_popular", kPopularQuery}}) {
    json recipe = {{"query", query}, {"params", {{"limit", o.k}}}, {"max_limit", 1000}};
    PW_RETURN_IF_ERROR(
        Call(client.Post(std::string("/v1/recipes/") + name, recipe.dump(), "application/json"),
             std::string("POST /v1/recipes/") + name));
  }
  for (const char* name : kSurfaces) {
    json s = {{"recipe", std::string(name) == "popular" ? "loop_popular" : "loop_personal"},
              {"k", o.k},
              {"item_type", "Item"},
              {"last_served", false},
              {"deadline_ms", 5000},
              {"candidate_ttl_seconds", 0},
              {"breaker", {{"failures", 1000}, {"window_ms", 1}, {"cooldown_ms", 1}}}};
    if (std::string(name) == "explore") {
      s["exploration"] = {
          {"policy", "thompson"}, {"every", std::min<size_t>(10, o.k)}, {"pool_size", 20}};
    }
    PW_RETURN_IF_ERROR(
        Call(client.Put(std::string("/v1/surfaces/") + name, s.dump(), "application/json"),
             std::string("PUT /v1/surfaces/") + name));
  }
  return Status::OK();
}

// Adds the injected item over HTTP: the node, its catalog edge and SIMILAR_TO both ways with the
// items nearest by content (as a catalog would link a new product).
Status InjectNewItem(httplib::Client& client, const World& w) {
  std::string body =
      json{{"node", "Item"}, {"id", kNewItem}, {"props", {{"title", "the new item"}}}}.dump() +
      "\n";
  body += EdgeLine("IN_CATALOG", "Item", kNewItem, "Catalog", "all", 1);
  for (const auto& [j, sim] : w.Neighbours(w.NewIndex(), false)) {
    body += EdgeLine("SIMILAR_TO", "Item", kNewItem, "Item", w.ItemName(j), sim);
    body += EdgeLine("SIMILAR_TO", "Item", w.ItemName(j), "Item", kNewItem, sim);
  }
  return Call(client.Post("/v1/batch", body, "application/x-ndjson"), "POST /v1/batch (new item)");
}

std::unique_ptr<httplib::Client> Connect(int port) {
  auto client = std::make_unique<httplib::Client>("127.0.0.1", port);
  client->set_keep_alive(true);
  client->set_read_timeout(60, 0);
  client->set_write_timeout(60, 0);
  return client;
}

// Where the simulated users live: a database and a server of their own. In a paired run there is
// one universe per surface with every user in it; in a split run one universe whose user u uses
// surface u % 3.
struct Universe {
  std::string dir;
  std::unique_ptr<Database> db;
  std::unique_ptr<server::Server> server;
  std::unique_ptr<httplib::Client> client;
  int surface = -1;              // every user's surface; -1: user u -> surface u % 3
  int64_t last_until_ms = 0;     // the end of the last replayed window
  size_t SurfaceOf(size_t user) const {
    return surface < 0 ? user % 3 : static_cast<size_t>(surface);
  }
  bool Serves(size_t s) const { return surface < 0 || static_cast<size_t>(surface) == s; }
  ~Universe() {
    client.reset();
    if (server) server->Stop();
  }
};

// Every user asks their surface (Universe::SurfaceOf) for a decision, on `clients` threads;
// clicks are drawn from the true probabilities with an RNG seeded by (seed, round, user), so they
// do not depend on the thread order, and a user draws the same random numbers in every universe.
std::vector<Served> DecideRound(const Universe& uni, const World& w, size_t round, size_t clients) {
  const int port = uni.server->port();
  std::vector<Served> served(w.o.users);
  std::vector<std::thread> pool;
  for (size_t c = 0; c < clients; ++c) {
    pool.emplace_back([&, c] {
      auto client = Connect(port);
      for (size_t u = c; u < w.o.users; u += clients) {
        Served& s = served[u];
        s.user = u;
        s.surface = uni.SurfaceOf(u);
        json body = {{"user", "u" + std::to_string(u)}};
        auto r = client->Post(std::string("/v1/surfaces/") + kSurfaces[s.surface] + "/decide",
                              body.dump(), "application/json");
        if (std::string e = Describe(r); !e.empty()) {
          s.error = e;
          continue;
        }
        json d = json::parse(r->body, nullptr, false);
        if (!d.is_object() || !d.contains("items")) {
          s.error = "malformed answer";
          continue;
        }
        s.ok = true;
        s.recommendation_id = d.value("recommendation_id", "");
        s.logged = d.value("impression_logged", false);
        Rng rng(w.o.seed, 100 + round, u);
        for (const json& item : d["items"]) {
          std::string id = item.value("id", "");
          size_t index = w.NewIndex();
          if (id != kNewItem) {
            // Catalog ids are "i<index>"; anything else is not an item of this world.
            char* end = nullptr;
            index = id.size() > 1 && id[0] == 'i' ? std::strtoull(id.c_str() + 1, &end, 10) : 0;
            if (!end || *end != '\0' || index >= w.o.items) {
              s.ok = false;
              s.error = "unknown item id '" + id + "' in the answer";
              break;
            }
          }
          double p = World::PositionBias(s.items.size()) * w.Affinity(u, index);
          s.items.push_back(id);
          s.clicked.push_back(rng.Uniform() < p);
        }
      }
    });
  }
  for (auto& t : pool) t.join();
  return served;
}

struct RunOptions {
  WorldOptions world;
  size_t clients = 4;
  size_t bootstrap = 200;
  bool paired = true;
};

Result<RunOptions> ParseRunOptions(const Flags& flags) {
  RunOptions r;
  WorldOptions& o = r.world;
  o.items = static_cast<size_t>(flags.GetInt("items", 2000));
  o.users = static_cast<size_t>(flags.GetInt("users", 300));
  o.rounds = static_cast<size_t>(flags.GetInt("rounds", 20));
  o.k = static_cast<size_t>(flags.GetInt("k", 10));
  o.dim = static_cast<size_t>(flags.GetInt("dim", 8));
  o.seed = static_cast<uint64_t>(flags.GetInt("seed", 42));
  o.history = static_cast<size_t>(flags.GetInt("history", 10));
  o.inject_round =
      static_cast<size_t>(flags.GetInt("inject-round", static_cast<int64_t>(o.rounds / 2 + 1)));
  o.uptake_share = flags.GetDouble("uptake-share", 0.1);
  r.clients = static_cast<size_t>(std::clamp<int64_t>(flags.GetInt("clients", 4), 1, 64));
  r.bootstrap = static_cast<size_t>(std::clamp<int64_t>(flags.GetInt("bootstrap", 200), 1, 100000));
  std::string assignment = flags.Get("assignment", "paired");
  if (assignment != "paired" && assignment != "split") {
    return Status::InvalidArgument("--assignment must be paired or split, not '" + assignment + "'");
  }
  r.paired = assignment == "paired";
  if (o.items < 20 || o.users < 3 || o.rounds < 1 || o.k < 2 || o.k > 100 || o.dim < 1 ||
      o.dim > 256) {
    return Status::InvalidArgument(
        "need --items >= 20, --users >= 3, --rounds >= 1, --k in [2, 100], --dim in [1, 256]");
  }
  return r;
}

json WorldJson(const World& world, const RunOptions& r, size_t seed_clicks) {
  const WorldOptions& o = world.o;
  json out = {{"items", o.items},
              {"users", o.users},
              {"dim", o.dim},
              {"k", o.k},
              {"rounds", o.rounds},
              {"seed", o.seed},
              {"history_per_user", o.history},
              {"seed_clicks", seed_clicks},
              {"similar_per_item", o.neighbours},
              {"click_model",
               "p = position_bias(slot) * sigmoid(a + bias_i + b * u.v_i), "
               "position_bias(s) = 1 / log2(2 + s), u, v ~ N(0, I / sqrt(dim)), "
               "bias_i ~ N(0, 0.5)"},
              {"a", o.a},
              {"b", o.b},
              {"new_item_bias", o.new_item_bias},
              {"inject_round", o.inject_round},
              {"uptake_share", o.uptake_share},
              {"clients", r.clients},
              {"assignment", r.paired ? "paired: every user on every surface, one database and "
                                        "server per surface"
                                      : "split: user u -> surface u % 3 (sticky), one database"},
              {"personal_recipe", kPersonalQuery},
              {"popular_recipe", kPopularQuery}};
  double mean_p = 0;
  double new_p = 0;
  for (size_t u = 0; u < o.users; ++u) {
    for (size_t i = 0; i < o.items; ++i) mean_p += world.Affinity(u, i);
    new_p += world.Affinity(u, world.NewIndex());
  }
  out["mean_true_affinity"] = mean_p / static_cast<double>(o.users * o.items);
  out["new_item_mean_affinity"] = new_p / static_cast<double>(o.users);
  return out;
}

// A fresh database in dir with the world loaded, a server on a free loopback port, and the
// recipes, surfaces and event types stored through the API.
Result<std::unique_ptr<Universe>> OpenUniverse(const std::string& dir, const std::string& ndjson,
                                               const RunOptions& r, int surface) {
  auto uni = std::make_unique<Universe>();
  uni->dir = dir;
  uni->surface = surface;
  DatabaseOptions db_options;
  db_options.checkpoint_interval_seconds = 0;
  db_options.impression_retention_days = 0;
  PW_ASSIGN_OR_RETURN(uni->db, Database::Open(db_options, dir));
  std::istringstream in(ndjson);
  PW_ASSIGN_OR_RETURN(LoadReport load, uni->db->Load(in));
  if (load.errors > 0) {
    return Status::Internal("world load: " + std::to_string(load.errors) + " errors, first: " +
                            (load.error_list.empty() ? "" : load.error_list[0].reason));
  }
  server::ServerOptions server_options;
  server_options.port = 0;
  server_options.no_auth = true;
  server_options.threads = static_cast<int>(r.clients + 4);
  uni->server = std::make_unique<server::Server>(uni->db.get(), server_options);
  PW_RETURN_IF_ERROR(uni->server->Start());
  uni->client = Connect(uni->server->port());
  PW_RETURN_IF_ERROR(Setup(*uni->client, r.world));
  uni->last_until_ms = NowMs();
  return uni;
}

// What a run accumulates over its rounds.
struct RunState {
  Tally totals[3];
  std::set<std::string> shown[3];
  int64_t first_uptake[3] = {-1, -1, -1};
  std::vector<loop::UserCounts> per_user[3];  // [surface][user]
  json rounds = json::array();
  std::vector<json> replay_rounds;
};

// Counts one universe's round into `tally` and `state`; returns the round's click events.
std::string CountRound(const std::vector<Served>& served, size_t round, Tally tally[3],
                       RunState* state) {
  std::string events;
  for (const Served& s : served) {
    Tally& t = tally[s.surface];
    ++t.decisions;
    if (!s.ok) {
      ++t.non_ok;
      if (t.first_error.empty()) t.first_error = s.error;
      continue;
    }
    t.impressions += s.items.size();
    loop::UserCounts& user = state->per_user[s.surface][s.user];
    user.impressions += static_cast<double>(s.items.size());
    if (s.logged) {
      ++t.logged_decisions;
      t.logged_impressions += s.items.size();
    }
    for (size_t slot = 0; slot < s.items.size(); ++slot) {
      state->shown[s.surface].insert(s.items[slot]);
      if (s.items[slot] == kNewItem) ++t.new_item_users;
      if (!s.clicked[slot]) continue;
      ++t.clicks;
      user.clicks += 1;
      if (s.logged) ++t.logged_clicks;
      events += json{{"event_id", "r" + std::to_string(round) + "-u" + std::to_string(s.user) +
                                      "-" + std::to_string(slot)},
                     {"user", "u" + std::to_string(s.user)},
                     {"item", s.items[slot]},
                     {"type", "click"},
                     {"recommendation_id", s.recommendation_id}}
                    .dump() +
                "\n";
    }
  }
  return events;
}

// One round in one universe: decisions, clicks sent as events, the exploit policy replayed on the
// explore surface's log (before the clicks reach the graph, so the recipe ranks as it did when
// serving), then the clicks written as CLICKED edges (what the recipes learn from). Adds the
// attributed clicks to *attributed.
Status PlayRound(Universe& uni, const World& world, const RunOptions& r, size_t round,
                 Tally tally[3], RunState* state, size_t* attributed) {
  if (round == world.o.inject_round) PW_RETURN_IF_ERROR(InjectNewItem(*uni.client, world));
  const int64_t round_start_ms = std::max(NowMs(), uni.last_until_ms);
  std::vector<Served> served = DecideRound(uni, world, round, r.clients);
  std::string events = CountRound(served, round, tally, state);
  if (!events.empty()) {
    json answer;
    PW_RETURN_IF_ERROR(Call(uni.client->Post("/v1/events", events, "application/x-ndjson"),
                            "POST /v1/events", &answer));
    *attributed += answer.value("attributed", size_t{0});
  }
  if (uni.Serves(0)) {
    decide::ReplayEvaluationOptions replay;
    replay.surface = "explore";
    replay.recipe = "loop_personal";
    replay.since_ms = round_start_ms;
    replay.until_ms = uni.last_until_ms = NowMs() + 1;
    replay.bootstrap = r.bootstrap;
    replay.seed = world.o.seed;
    PW_ASSIGN_OR_RETURN(json estimate, decide::EvaluateReplay(uni.db.get(), replay));
    estimate.erase("assumptions");
    estimate["round"] = round;
    state->replay_rounds.push_back(estimate);
  }
  std::string edges;
  for (const Served& s : served) {
    for (size_t slot = 0; slot < s.clicked.size(); ++slot) {
      if (s.clicked[slot])
        edges +=
            EdgeLine("CLICKED", "User", "u" + std::to_string(s.user), "Item", s.items[slot], 1);
    }
  }
  if (!edges.empty())
    PW_RETURN_IF_ERROR(
        Call(uni.client->Post("/v1/batch", edges, "application/x-ndjson"), "POST /v1/batch"));
  return Status::OK();
}

// The round's row of the table and the JSON; adds the round to the run's totals.
void RecordRound(size_t round, size_t attributed, const WorldOptions& o, Tally tally[3],
                 RunState* state) {
  json row = {{"round", round}, {"attributed", attributed}};
  std::printf("%-6zu", round);
  for (size_t s = 0; s < 3; ++s) {
    Tally& t = tally[s];
    double ctr =
        t.impressions ? static_cast<double>(t.clicks) / static_cast<double>(t.impressions) : 0;
    double ok_decisions = static_cast<double>(t.decisions - t.non_ok);
    double new_share = ok_decisions > 0 ? static_cast<double>(t.new_item_users) / ok_decisions : 0;
    if (round >= o.inject_round && state->first_uptake[s] < 0 && new_share >= o.uptake_share) {
      state->first_uptake[s] = static_cast<int64_t>(round);
    }
    row[kSurfaces[s]] = {{"decisions", t.decisions},
                         {"non_ok", t.non_ok},
                         {"impressions", t.impressions},
                         {"logged_clicks", t.logged_clicks},
                         {"clicks", t.clicks},
                         {"ctr", ctr},
                         {"new_item_share", new_share},
                         {"ctr_interval", loop::Wilson(static_cast<double>(t.clicks),
                                                       static_cast<double>(t.impressions))}};
    if (!t.first_error.empty()) row[kSurfaces[s]]["first_error"] = t.first_error;
    std::printf(" | %-8s %5zu %6zu %6.2f%% %5.1f", "", t.impressions, t.clicks, 100 * ctr,
                100 * new_share);
    Tally& total = state->totals[s];
    total.decisions += t.decisions;
    total.non_ok += t.non_ok;
    total.impressions += t.impressions;
    total.clicks += t.clicks;
    total.new_item_users += t.new_item_users;
    total.logged_decisions += t.logged_decisions;
    total.logged_impressions += t.logged_impressions;
    total.logged_clicks += t.logged_clicks;
    if (total.first_error.empty()) total.first_error = t.first_error;
  }
  std::printf("\n");
  std::fflush(stdout);
  state->rounds.push_back(row);
}

std::string ShowInterval(const json& e, const char* unit = "%") {
  return e.is_null() ? std::string("-")
                     : Fixed(100 * e["value"].get<double>(), 2) + unit + " [" +
                           Fixed(100 * e["low"].get<double>(), 2) + ", " +
                           Fixed(100 * e["high"].get<double>(), 2) + "]";
}

// Summary per surface, with the server's own report (attributed clicks) beside our counts.
Result<json> SummariseSurfaces(const std::vector<std::unique_ptr<Universe>>& universes,
                               const WorldOptions& o, int64_t run_start_ms,
                               const RunState& state) {
  json surfaces = json::object();
  const size_t catalog = o.items + (o.inject_round <= o.rounds ? 1 : 0);
  std::printf("\n%-8s %9s %7s %22s %9s %8s %7s %12s\n", "surface", "impr", "clicks",
              "CTR [95% interval]", "coverage", "non-OK", "report", "new item @");
  for (size_t s = 0; s < 3; ++s) {
    const Tally& t = state.totals[s];
    const Universe* uni = nullptr;
    for (const auto& u : universes) {
      if (u->Serves(s)) uni = u.get();
    }
    json ctr = loop::Wilson(static_cast<double>(t.clicks), static_cast<double>(t.impressions));
    json server_report;
    PW_RETURN_IF_ERROR(Call(uni->client->Get(std::string("/v1/surfaces/") + kSurfaces[s] +
                                             "/report?since=" + std::to_string(run_start_ms) +
                                             "&until=" + std::to_string(NowMs() + 1)),
                            "GET report", &server_report));
    json variant =
        server_report["variants"].empty() ? json::object() : server_report["variants"][0];
    double coverage = static_cast<double>(state.shown[s].size()) / static_cast<double>(catalog);
    const int64_t uptake = state.first_uptake[s];
    surfaces[kSurfaces[s]] = {
        {"decisions", t.decisions},
        {"non_ok", t.non_ok},
        {"impressions", t.impressions},
        {"clicks", t.clicks},
        {"ctr", ctr},
        {"distinct_items_shown", state.shown[s].size()},
        {"coverage", coverage},
        {"new_item_first_round", uptake < 0 ? json(nullptr) : json(uptake)},
        {"new_item_impressions", t.new_item_users},
        {"logged",
         {{"decisions", t.logged_decisions},
          {"impressions", t.logged_impressions},
          {"clicks", t.logged_clicks}}},
        {"report",
         {{"decisions", variant.value("decisions", 0)},
          {"impressions", variant.value("impressions", 0)},
          {"clicks", variant.value("clicks", 0)},
          {"clicked_impressions", variant.value("clicked_impressions", 0)},
          {"ctr", variant.value("ctr", json(nullptr))}}}};
    std::printf("%-8s %9zu %7zu %22s %8.1f%% %8zu %7lld %12s\n", kSurfaces[s], t.impressions,
                t.clicks, ShowInterval(ctr).c_str(), 100 * coverage, t.non_ok,
                static_cast<long long>(variant.value("clicked_impressions", 0)),
                uptake < 0 ? "never" : ("round " + std::to_string(uptake)).c_str());
  }
  return surfaces;
}

// CTR differences between the surfaces, with user-level bootstrap intervals (paired when every
// user was on every surface).
json Differences(const RunState& state, const RunOptions& r) {
  json out = json::object();
  std::printf("\nCTR differences (percentage points, 95%% bootstrap over users, %s):\n",
              r.paired ? "paired" : "unpaired");
  for (const auto& [a, b] : {std::pair<size_t, size_t>{0, 1}, {0, 2}, {1, 2}}) {
    std::string name = std::string(kSurfaces[a]) + "_minus_" + kSurfaces[b];
    json d = loop::CtrDifference(state.per_user[a], state.per_user[b], r.paired,
                                 std::max<size_t>(r.bootstrap, 1000), r.world.seed);
    out[name] = d;
    std::printf("  %-24s %s\n", name.c_str(), ShowInterval(d, "").c_str());
  }
  return out;
}

Status Run(const Flags& flags, Report* report) {
  PW_ASSIGN_OR_RETURN(RunOptions r, ParseRunOptions(flags));
  const WorldOptions& o = r.world;

  // The data directory: a fresh temporary one (removed at the end), or --data, which must be
  // absent or empty (kept). A paired run has one database per surface in its subdirectories.
  std::string dir = flags.Get("data", "");
  const bool temporary = dir.empty();
  if (temporary) {
    char tmpl[] = "/tmp/pathwise-bench-loop-XXXXXX";
    if (!mkdtemp(tmpl)) return Status::IOError("mkdtemp failed");
    dir = tmpl;
  } else if (std::filesystem::exists(dir) && !std::filesystem::is_empty(dir)) {
    return Status::InvalidArgument("--data " + dir + " is not empty");
  }
  struct Cleanup {
    std::string dir;
    bool remove;
    ~Cleanup() {
      std::error_code ec;
      if (remove) std::filesystem::remove_all(dir, ec);
    }
  } cleanup{dir, temporary};

  const double start = NowSeconds();
  World world(o);
  size_t seed_clicks = 0;
  std::string ndjson = loop::WorldNdjson(world, &seed_clicks);
  report->Info("world", WorldJson(world, r, seed_clicks));

  std::vector<std::unique_ptr<Universe>> universes;
  if (r.paired) {
    for (int s = 0; s < 3; ++s) {
      PW_ASSIGN_OR_RETURN(auto uni,
                          OpenUniverse(dir + "/" + kSurfaces[s], ndjson, r, s));
      universes.push_back(std::move(uni));
    }
  } else {
    PW_ASSIGN_OR_RETURN(auto uni, OpenUniverse(dir, ndjson, r, -1));
    universes.push_back(std::move(uni));
  }
  const int64_t run_start_ms = NowMs();

  RunState state;
  for (auto& users : state.per_user) users.resize(o.users);
  std::printf("%-6s", "round");
  for (const char* s : kSurfaces) std::printf(" | %-8s impr  clicks   CTR   new%%", s);
  std::printf("\n");
  for (size_t round = 1; round <= o.rounds; ++round) {
    Tally tally[3];
    size_t attributed = 0;
    for (auto& uni : universes) {
      PW_RETURN_IF_ERROR(PlayRound(*uni, world, r, round, tally, &state, &attributed));
    }
    RecordRound(round, attributed, o, tally, &state);
  }

  PW_ASSIGN_OR_RETURN(json surfaces, SummariseSurfaces(universes, o, run_start_ms, state));
  report->json()["surfaces"] = surfaces;
  report->json()["rounds"] = state.rounds;
  report->json()["differences"] = Differences(state, r);

  json pooled = loop::PoolReplay(state.replay_rounds);
  json off_policy = {
      {"policy", "loop_personal (the exploit surface's recipe)"},
      {"log", "explore"},
      {"pooled", pooled},
      {"exploit_direct_ctr", surfaces["exploit"]["ctr"]},
      {"explore_logged_ctr", surfaces["explore"]["ctr"]},
      {"same_users", r.paired},
      {"per_round", state.replay_rounds},
      {"note",
       "EvaluateReplay per round, before the round's clicks reach the graph; pooled IPS "
       "is exact, pooled SNIPS is the impression-weighted mean of the rounds' SNIPS, "
       "pooled intervals combine the rounds' bootstrap intervals as normal"}};
  report->json()["off_policy"] = off_policy;
  std::printf(
      "\nexploit policy's CTR: measured on its surface %s; from the explore log: IPS %s, SNIPS "
      "%s\n",
      ShowInterval(surfaces["exploit"]["ctr"]).c_str(), ShowInterval(pooled["ips"]).c_str(),
      ShowInterval(pooled["snips"]).c_str());
  report->Value("seconds", NowSeconds() - start, "s");

  if (flags.Has("svg")) {
    std::ofstream svg(flags.Get("svg", ""), std::ios::binary);
    svg << loop::Svg(state.rounds, {kSurfaces[0], kSurfaces[1], kSurfaces[2]}, o.inject_round);
    if (!svg) return Status::IOError("cannot write " + flags.Get("svg", ""));
  }
  return Status::OK();
}

constexpr const char* kLoopUsage = R"(usage: pathwise bench loop [options]

Simulated users against a real server over HTTP (docs/feedback-loop.md, "Simulated users").
A synthetic world (latent factors, fixed seed) is loaded into a fresh database; three surfaces
(explore: personal recipe + Thompson sampling every 10th slot; exploit: the same recipe; popular:
most clicked) serve the users. Paired (the default): the world is loaded three times, one
database and server per surface, and every user uses every surface, each in its own copy of the
world; split: one database, user u -> surface u % 3. Each round every user asks for a decision,
clicks by p = position_bias(slot) * sigmoid(a + bias_i + b * u.v_i), and the clicks are sent as
events with their recommendation_id. Prints a table per round, a summary and the CTR differences
between surfaces with 95% bootstrap intervals over users (paired in a paired run).

  --items N          catalog size (default 2000)
  --users N          simulated users (default 300)
  --rounds N         rounds (default 20)
  --k N              items per decision (default 10)
  --dim N            latent factor dimension (default 8)
  --seed S           seed of the world and the clicks (default 42)
  --history N        seed clicks per user before round 1 (default 10)
  --inject-round R   round at whose start the liked new item is added (default rounds / 2 + 1)
  --uptake-share X   the new item counts as taken up when it is in this share of a surface's
                     decisions in a round (default 0.1)
  --assignment A     paired (default) or split (see above)
  --clients N        concurrent HTTP clients deciding (default 4)
  --bootstrap N      bootstrap resamples of each round's replay estimate (default 200; the
                     CTR differences use at least 1000)
  --data DIR         database directory, absent or empty, kept (default: a temporary
                     directory, removed at the end); a paired run uses DIR/explore,
                     DIR/exploit and DIR/popular
  --json FILE        the full report as JSON
  --svg FILE         CTR per round per surface as an SVG line chart
)";

}  // namespace

int LoopMain(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
      std::printf("%s", kLoopUsage);
      return 0;
    }
  }
  return RunCommand("loop", argc, argv,
                    {"items", "users", "rounds", "k", "dim", "seed", "history", "inject-round",
                     "uptake-share", "assignment", "clients", "bootstrap", "data", "json", "svg"},
                    Run);
}

}  // namespace pathwise::bench
