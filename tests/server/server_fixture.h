// Shared by the end-to-end server tests: a temp data directory with a small catalog, a real
// Server on a free loopback port, API keys for each role and an httplib client.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <random>
#include <string>

#include <doctest/doctest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "db/database.h"
#include "server/server.h"

namespace pathwise::server::testing {

// A fresh directory under /tmp, removed on destruction.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("pathwise-server-test-" + std::to_string(getpid()) + "-" + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string path() const { return path_.string(); }
  std::string Sub(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline constexpr char kSchema[] = R"({
  "node_types": [{"name": "User"}, {"name": "Item", "properties": {"title": "string", "price": "double"}}],
  "edge_types": [{"name": "VIEWED", "mode": "accumulate", "from": "User", "to": "Item"},
                 {"name": "LIKED", "mode": "replace", "from": "User", "to": "Item"}],
  "vector_spaces": [{"node_type": "Item", "name": "embedding", "dim": 4, "metric": "cosine"}]
})";

// Users u1,u2; items i1..i3; u1 viewed i1 and i2; i1..i3 have embeddings.
inline void BuildFixture(Database* db) {
  REQUIRE(db->MergeSchema(kSchema).ok());
  WriteSet writes;
  for (const char* user : {"u1", "u2"}) writes.ops.push_back(NodeWrite{NodeWrite::Op::kUpsert, "User", user, {}});
  const char* titles[] = {"Alpha", "Beta", "Gamma"};
  for (int i = 0; i < 3; ++i) {
    Properties props{{"title", std::string(titles[i])}, {"price", 10.0 + i}};
    writes.ops.push_back(NodeWrite{NodeWrite::Op::kUpsert, "Item", "i" + std::to_string(i + 1), props});
    VectorWrite vec;
    vec.space = "Item.embedding";
    vec.id = "i" + std::to_string(i + 1);
    vec.values = {1.0f, static_cast<float>(i), 0.5f, 0.25f};
    writes.ops.push_back(vec);
  }
  for (const char* item : {"i1", "i2"}) {
    EdgeWrite edge;
    edge.type = "VIEWED";
    edge.from = NodeRef{"User", "u1"};
    edge.to = NodeRef{"Item", item};
    edge.weight = 1.0;
    edge.ts = 1000;
    writes.ops.push_back(edge);
  }
  Status status = db->Apply(writes);
  INFO(status.ToString());
  REQUIRE(status.ok());
}

// An open database over a directory, a started server and one key per role.
class ServerHarness {
 public:
  explicit ServerHarness(const std::string& dir, ServerOptions options = {}, bool build = true)
      : dir_(dir), options_(std::move(options)) {
    Open(build);
  }
  ~ServerHarness() { Close(); }

  void Open(bool build) {
    std::filesystem::create_directories(dir_);
    auto db = Database::Open(DatabaseOptions{}, dir_);
    INFO(db.status().ToString());
    REQUIRE(db.ok());
    db_ = std::move(db).value();
    if (build) {
      BuildFixture(db_.get());
      for (const char* role : {"read", "write", "admin"}) {
        auto key = CreateApiKey(db_.get(), role);
        REQUIRE(key.ok());
        keys_[role] = *key;
      }
    }
    options_.host = "127.0.0.1";
    options_.port = 0;
    options_.data_dir = dir_;
    options_.threads = 4;
    // Tests read a decision's impression record right after it, however slow the disk.
    options_.impression_wait_past_deadline_ms = 60'000;
    server_ = std::make_unique<Server>(db_.get(), options_);
    Status started = server_->Start();
    INFO(started.ToString());
    REQUIRE(started.ok());
  }
  // Stops the server and closes the database (flush + snapshots).
  void Close() {
    if (server_) server_->Stop();
    server_.reset();
    db_.reset();
  }
  void Reopen() {
    Close();
    Open(/*build=*/false);
  }

  httplib::Client Client() const {
    httplib::Client client("127.0.0.1", server_->port());
    client.set_read_timeout(30, 0);
    return client;
  }
  httplib::Headers Auth(const std::string& role) const {
    return {{"Authorization", "Bearer " + keys_.at(role)}};
  }
  const std::string& Key(const std::string& role) const { return keys_.at(role); }
  Database* db() { return db_.get(); }
  Server* server() { return server_.get(); }

 private:
  std::string dir_;
  ServerOptions options_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<Server> server_;
  std::map<std::string, std::string> keys_;
};

inline nlohmann::json Json(const httplib::Result& res) {
  REQUIRE(res);
  nlohmann::json body = nlohmann::json::parse(res->body, nullptr, false);
  INFO(res->body);
  REQUIRE(!body.is_discarded());
  return body;
}

// The one error shape: {"error": {"code": string, "message": string, ...}}.
inline bool HasErrorShape(const std::string& text) {
  nlohmann::json body = nlohmann::json::parse(text, nullptr, false);
  return body.is_object() && body.contains("error") && body["error"].is_object() &&
         body["error"].value("code", nlohmann::json()).is_string() &&
         body["error"].value("message", nlohmann::json()).is_string();
}

}  // namespace pathwise::server::testing
