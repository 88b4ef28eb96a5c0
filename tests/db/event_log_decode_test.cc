// db/: reading event log entries (event_log::Decode). Entries in the shape Encode writes take a
// fast path without a JSON DOM; anything else is read by the DOM. Both must accept the same
// entries and read the same values, so these tests compare Decode with a DOM read of the text.
#include <optional>

#include <doctest/doctest.h>

#include "db/event_log.h"

namespace pathwise {
namespace {

using json = nlohmann::json;

// What the DOM reads from an entry: nullopt where Decode must report Corruption.
std::optional<LoggedEvent> DomRead(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  LoggedEvent e;
  using Text = std::pair<const char*, std::string*>;
  try {
    for (auto [name, out] : {Text{"event_id", &e.event_id}, Text{"type", &e.type},
                             Text{"user", &e.user}, Text{"item", &e.item}}) {
      j.at(name).get_to(*out);
    }
    j.at("ts").get_to(e.ts);
    j.at("logged_ms").get_to(e.logged_ms);
    j.at("weight").get_to(e.weight);
    for (auto [name, out] : {Text{"recommendation_id", &e.recommendation_id},
                             Text{"segment", &e.segment}}) {
      if (j.contains(name)) j[name].get_to(*out);
    }
  } catch (const json::exception&) {
    return std::nullopt;
  }
  return e;
}

// Encode writes what a JSON DOM of the entry writes (nlohmann's dump: keys in name order, invalid
// UTF-8 replaced), with or without building the DOM: the DOM read back and written again gives
// the same text.
void CheckWrittenAsDom(const LoggedEvent& e) {
  const std::string text = event_log::Encode(e);
  CAPTURE(text);
  CHECK(text == json::parse(text).dump());
}

void CheckReadsAsDom(std::string_view text) {
  CAPTURE(text);
  auto decoded = event_log::Decode(event_log::Key(7), text);
  auto expected = DomRead(text);
  REQUIRE(decoded.ok() == expected.has_value());
  if (!expected) {
    CHECK(decoded.status().code() == Status::Code::kCorruption);
    return;
  }
  CHECK(decoded->sequence == 7);
  CHECK(decoded->event_id == expected->event_id);
  CHECK(decoded->type == expected->type);
  CHECK(decoded->user == expected->user);
  CHECK(decoded->item == expected->item);
  CHECK(decoded->ts == expected->ts);
  CHECK(decoded->logged_ms == expected->logged_ms);
  CHECK(decoded->weight == expected->weight);
  CHECK(decoded->recommendation_id == expected->recommendation_id);
  CHECK(decoded->segment == expected->segment);
}

TEST_CASE("an encoded event is the DOM's text and decodes to every field, whatever its ids contain") {
  LoggedEvent e{42, "ev1", "view", "u1", "i1", 1764000000000, 1764000000123, 0.1, "", ""};
  const std::string odd[] = {"plain", "quote\"d", "back\\slash", "tab\there", "caf\xc3\xa9",
                             "\xf0\x9f\x8e\xac", "line\nbreak", "\x01", "del\x7f"};
  for (const std::string& id : odd) {
    for (std::string* field :
         {&e.event_id, &e.type, &e.user, &e.item, &e.recommendation_id, &e.segment}) {
      const std::string saved = *field;
      *field = id;
      const std::string text = event_log::Encode(e);
      CheckWrittenAsDom(e);
      CheckReadsAsDom(text);
      auto decoded = event_log::Decode(event_log::Key(e.sequence), text);
      REQUIRE(decoded.ok());
      CHECK(decoded->sequence == 42);
      CHECK(*field == id);
      CHECK(decoded->event_id == e.event_id);
      CHECK(decoded->user == e.user);
      CHECK(decoded->item == e.item);
      CHECK(decoded->recommendation_id == e.recommendation_id);
      *field = saved;
    }
  }
  e.user = "bad\xff";  // invalid UTF-8: written as the DOM writes it, the byte replaced
  CheckWrittenAsDom(e);
  e.user = "u1";
  for (double weight : {1.0, -2.5, 1e-300, 123456789.125, 0.30000000000000004}) {
    e.weight = weight;
    for (int64_t ts : {int64_t{0}, int64_t{-5}, int64_t{999999999999999999}}) {
      e.ts = ts;
      CheckWrittenAsDom(e);
      CheckReadsAsDom(event_log::Encode(e));
      CHECK(event_log::Decode(event_log::Key(1), event_log::Encode(e))->weight == weight);
      CHECK(event_log::Decode(event_log::Key(1), event_log::Encode(e))->ts == ts);
    }
  }
}

TEST_CASE("log entries in other shapes read as the JSON DOM reads them") {
  const char* entries[] = {
      // field order, whitespace, the optional fields, an unknown field
      R"({"ts":5,"type":"view","user":"u","item":"i","event_id":"e","logged_ms":6,"weight":1})",
      R"( { "event_id" : "e" , "type":"view","user":"u","item":"i","ts":5,"logged_ms":6,"weight":2.5 } )",
      R"({"event_id":"e","type":"view","user":"u","item":"i","ts":5,"logged_ms":6,"weight":1,"segment":"students"})",
      R"({"event_id":"e","type":"view","user":"u","item":"i","ts":5,"logged_ms":6,"weight":1,"recommendation_id":"r1","seq":3})",
      R"({"event_id":"e","type":"view","user":"u","item":"i","ts":5,"logged_ms":6,"weight":1,"extra":[1,{"a":2}]})",
      R"({"event_id":"e","type":"view","user":"u","item":"i","ts":5,"logged_ms":6,"weight":1,"seq":"x"})",
      // escapes, numbers the fast path leaves to the DOM
      R"({"event_id":"e\u0041","type":"view","user":"u\/","item":"i","ts":5,"logged_ms":6,"weight":1})",
      R"({"event_id":"e","type":"view","user":"u","item":"i","ts":5.0,"logged_ms":6,"weight":1e2})",
      R"({"event_id":"e","type":"view","user":"u","item":"i","ts":-0,"logged_ms":1234567890123456789,"weight":-0.5E-3})",
      R"({"event_id":"e","type":"view","user":"u","item":"i","ts":5,"logged_ms":6,"weight":1,"type":"click"})",
      // unreadable: missing or mistyped fields, bad JSON, trailing text
      R"({"event_id":"e","type":"view","user":"u","item":"i","ts":5,"logged_ms":6})",
      R"({"event_id":"e","type":"view","user":"u","item":7,"ts":5,"logged_ms":6,"weight":1})",
      R"({"event_id":"e","type":"view","user":"u","item":"i","ts":"5","logged_ms":6,"weight":1})",
      R"({"event_id":"e","type":"view","user":"u","item":"i","ts":5,"logged_ms":6,"weight":1,"segment":null})",
      R"({"event_id":"e","type":"view","user":"u","item":"i","ts":05,"logged_ms":6,"weight":1})",
      R"({"event_id":"e","type":"view","user":"u","item":"i","ts":5,"logged_ms":6,"weight":1.})",
      R"({"event_id":"e","type":"view","user":"u","item":"i","ts":5,"logged_ms":6,"weight":1} x)",
      R"({"event_id":"e","type":"view","user":"u","item":"i","ts":5,"logged_ms":6,"weight":1,})",
      R"({"event_id":"e","type":"view","user":"u","item":"i","ts":5,"logged_ms":6,"weight":1)",
      R"({"event_id":"e","type":"view","user":"u)", "{}", "[]", "", "null",
      "{\"event_id\":\"\xff\",\"type\":\"view\",\"user\":\"u\",\"item\":\"i\",\"ts\":5,\"logged_ms\":6,\"weight\":1}",
  };
  for (const char* text : entries) CheckReadsAsDom(text);
  CHECK(event_log::Decode(event_log::Key(1), entries[2])->segment == "students");
  CHECK(event_log::Decode(event_log::Key(1), entries[0])->ts == 5);
  CHECK(event_log::Decode("short", entries[0]).status().code() == Status::Code::kCorruption);
}

}  // namespace
}  // namespace pathwise
