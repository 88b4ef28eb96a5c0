// The load's read-and-parse pipeline (load_pipeline.h).
#include "db/load_pipeline.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "db/flat_json.h"

namespace pathwise {

namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr size_t kBlockLines = 1024;
constexpr size_t kBlockBytes = 256u << 10;
constexpr size_t kBlocksAheadPerWorker = 4;

// Reads a stream's lines through a buffer of its own, filled by 64 KiB reads: taking the input a
// byte at a time through the stream cost more than parsing the common line.
class LineReader {
 public:
  explicit LineReader(std::istream& in) : in_(in), data_(64u << 10) {}

  // Reads one line (without its newline) into *line, keeping at most max_bytes of it; *length
  // is the line's full length. False at the end of the input.
  bool Next(size_t max_bytes, std::string* line, size_t* length) {
    line->clear();
    *length = 0;
    bool any = false;
    for (;;) {
      if (pos_ == end_ && !Fill()) return any;
      any = true;
      const char* start = data_.data() + pos_;
      const auto* newline = static_cast<const char*>(std::memchr(start, '\n', end_ - pos_));
      const size_t n = newline != nullptr ? static_cast<size_t>(newline - start) : end_ - pos_;
      if (*length < max_bytes) line->append(start, std::min(n, max_bytes - *length));
      *length += n;
      pos_ += n;
      if (newline != nullptr) {
        ++pos_;
        return true;
      }
    }
  }

 private:
  bool Fill() {
    const std::streamsize got =
        in_.rdbuf()->sgetn(data_.data(), static_cast<std::streamsize>(data_.size()));
    pos_ = 0;
    end_ = got > 0 ? static_cast<size_t>(got) : 0;
    if (end_ == 0) in_.setstate(std::ios::eofbit);
    return end_ > 0;
  }

  std::istream& in_;
  std::vector<char> data_;
  size_t pos_ = 0;  // the next byte of data_ to read
  size_t end_ = 0;  // data_[pos_, end_) is read from the stream and not yet returned
};

bool NestsDeeperThan(std::string_view text, size_t limit) {
  size_t depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > limit) return true;
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return false;
}

// ["type", "id"] with both strings.
bool SimpleRef(FlatJsonScanner* in, NodeRef* out) {
  std::string_view type, id;
  if (!in->Consume('[') || !in->String(&type) || !in->Consume(',') || !in->String(&id) ||
      !in->Consume(']')) {
    return false;
  }
  out->type.assign(type);
  out->id.assign(id);
  out->create_if_missing = false;
  return true;
}

// One member of a simple edge line; `seen` has a bit per member already read.
bool SimpleEdgeMember(FlatJsonScanner* in, unsigned* seen, EdgeWrite* out) {
  std::string_view key;
  if (!in->String(&key) || !in->Consume(':')) return false;
  static constexpr std::string_view kKeys[] = {"edge", "from", "to", "weight", "ts", "op"};
  size_t k = 0;
  while (k < std::size(kKeys) && kKeys[k] != key) ++k;
  if (k == std::size(kKeys) || (*seen & (1u << k)) != 0) return false;  // the parser decides
  *seen |= 1u << k;
  std::string_view text;
  switch (k) {
    case 0:
      if (!in->String(&text)) return false;
      out->type.assign(text);
      return true;
    case 1:
      return SimpleRef(in, &out->from);
    case 2:
      return SimpleRef(in, &out->to);
    case 3: {
      double weight = 0;
      if (!in->Double(&weight)) return false;
      out->weight = weight;
      return true;
    }
    case 4: {
      int64_t ts = 0;
      if (!in->Integer(&ts)) return false;
      out->ts = ts;
      return true;
    }
    default:
      if (!in->String(&text) || (text != "put" && text != "delete")) return false;
      out->op = text == "delete" ? EdgeWrite::Op::kDelete : EdgeWrite::Op::kPut;
      return true;
  }
}

ParsedLine Error(std::string reason) {
  ParsedLine out;
  out.kind = ParsedLine::Kind::kError;
  out.text = std::move(reason);
  return out;
}

// Lines as read, before parsing.
struct RawBlock {
  size_t seq = 0;
  size_t first_line = 0;
  std::vector<std::string> texts;
  std::vector<size_t> lengths;
};

ParsedBlock ParseBlock(const RawBlock& raw, size_t max_line_bytes) {
  ParsedBlock out;
  out.lines.reserve(raw.texts.size());
  for (size_t i = 0; i < raw.texts.size(); ++i) {
    ParsedLine line = ParseLoadLine(raw.texts[i], raw.lengths[i], max_line_bytes);
    line.line = raw.first_line + i;
    line.bytes = raw.lengths[i] + 1;
    out.lines.push_back(std::move(line));
  }
  return out;
}

}  // namespace

bool ReadSimpleEdgeLine(std::string_view text, EdgeWrite* out) {
  *out = EdgeWrite();
  FlatJsonScanner in(text);
  if (!in.Consume('{')) return false;
  unsigned seen = 0;
  do {
    if (!SimpleEdgeMember(&in, &seen, out)) return false;
  } while (in.Consume(','));
  constexpr unsigned kRequired = 0b111;  // edge, from, to
  return in.Consume('}') && in.AtEnd() && (seen & kRequired) == kRequired;
}

ParsedLine ParseLoadLine(std::string_view text, size_t length, size_t max_line_bytes) {
  if (length > max_line_bytes) {
    return Error("line is " + std::to_string(length) + " bytes; the limit is " +
                 std::to_string(max_line_bytes));
  }
  if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
  if (text.find_first_not_of(" \t") == std::string_view::npos) return ParsedLine();
  if (EdgeWrite edge; ReadSimpleEdgeLine(text, &edge)) {  // most lines: no JSON document
    ParsedLine out;
    out.kind = ParsedLine::Kind::kRecord;
    out.record = std::move(edge);
    return out;
  }
  if (NestsDeeperThan(text, kMaxLoadLineDepth)) {
    return Error("JSON nests deeper than " + std::to_string(kMaxLoadLineDepth) + " levels");
  }
  Json obj = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (obj.is_discarded()) return Error("malformed JSON");
  if (!obj.is_object()) return Error("a line must be a JSON object");
  ParsedLine out;
  try {
    if (obj.contains("schema") && obj.size() == 1) {
      out.kind = ParsedLine::Kind::kSchema;
      out.text = obj["schema"].dump();
      return out;
    }
    Result<Record> record = RecordFromJson(obj);
    if (!record.ok()) return Error(record.status().message());
    out.kind = ParsedLine::Kind::kRecord;
    out.record = std::move(record).value();
    return out;
  } catch (const std::exception& e) {  // nlohmann type errors on odd values
    return Error(e.what());
  }
}

struct ParsePipeline::State {
  std::istream& in;
  size_t max_line_bytes;
  size_t max_ahead;  // blocks read but not yet taken by Next

  std::mutex mu;
  std::condition_variable cv;
  std::deque<RawBlock> todo;             // read, waiting for a worker
  std::map<size_t, ParsedBlock> parsed;  // by seq, waiting for Next
  size_t ahead = 0;                      // blocks read and not yet taken
  size_t next_seq = 0;                   // the seq Next returns next
  size_t read_blocks = 0;                // blocks the reader produced
  bool eof = false;                      // the reader is done (read_blocks is final)
  bool stop = false;
  double parse_seconds = 0;
  double wait_seconds = 0;

  std::thread reader;
  std::vector<std::thread> workers;

  State(std::istream& input, size_t max_bytes, size_t ahead_limit)
      : in(input), max_line_bytes(max_bytes), max_ahead(ahead_limit) {}

  void ReadLoop() {
    LineReader lines(in);
    size_t line_no = 1;
    for (size_t seq = 0;; ++seq) {
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return stop || ahead < max_ahead; });
        if (stop) break;
      }
      RawBlock block;
      block.seq = seq;
      block.first_line = line_no;
      size_t bytes = 0;
      std::string text;
      size_t length = 0;
      while (block.texts.size() < kBlockLines && bytes < kBlockBytes &&
             lines.Next(max_line_bytes, &text, &length)) {
        bytes += text.size();
        block.texts.push_back(std::move(text));
        block.lengths.push_back(length);
      }
      line_no += block.texts.size();
      std::lock_guard<std::mutex> lock(mu);
      if (block.texts.empty()) break;
      todo.push_back(std::move(block));
      ++ahead;
      ++read_blocks;
      cv.notify_all();
    }
    std::lock_guard<std::mutex> lock(mu);
    eof = true;
    cv.notify_all();
  }

  void WorkLoop() {
    for (;;) {
      RawBlock raw;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return stop || !todo.empty() || eof; });
        if (stop || todo.empty()) return;
        raw = std::move(todo.front());
        todo.pop_front();
      }
      auto start = Clock::now();
      ParsedBlock block = ParseBlock(raw, max_line_bytes);
      double seconds = std::chrono::duration<double>(Clock::now() - start).count();
      std::lock_guard<std::mutex> lock(mu);
      parse_seconds += seconds;
      parsed.emplace(raw.seq, std::move(block));
      cv.notify_all();
    }
  }
};

ParsePipeline::ParsePipeline(std::istream& in, size_t max_line_bytes, int workers) {
  size_t n = static_cast<size_t>(std::max(1, workers));
  state_ = std::make_unique<State>(in, max_line_bytes, kBlocksAheadPerWorker * n + 2);
  State* s = state_.get();
  s->reader = std::thread([s] { s->ReadLoop(); });
  for (size_t i = 0; i < n; ++i) s->workers.emplace_back([s] { s->WorkLoop(); });
}

ParsePipeline::~ParsePipeline() {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->stop = true;
    state_->cv.notify_all();
  }
  state_->reader.join();
  for (auto& t : state_->workers) t.join();
}

bool ParsePipeline::Next(ParsedBlock* block) {
  State& s = *state_;
  auto start = Clock::now();
  std::unique_lock<std::mutex> lock(s.mu);
  s.cv.wait(lock, [&] {
    return s.parsed.count(s.next_seq) > 0 || (s.eof && s.next_seq >= s.read_blocks);
  });
  s.wait_seconds += std::chrono::duration<double>(Clock::now() - start).count();
  auto it = s.parsed.find(s.next_seq);
  if (it == s.parsed.end()) return false;
  *block = std::move(it->second);
  s.parsed.erase(it);
  ++s.next_seq;
  --s.ahead;
  s.cv.notify_all();
  return true;
}

double ParsePipeline::parse_seconds() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->parse_seconds;
}

double ParsePipeline::wait_seconds() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->wait_seconds;
}

}  // namespace pathwise
