// OpenGeneratedStream: Generate's output as an istream, produced on a background thread.
#include <condition_variable>
#include <deque>
#include <mutex>
#include <streambuf>
#include <thread>

#include "bench/generator.h"

namespace pathwise::bench {
namespace {

constexpr size_t kMaxQueuedChunks = 16;

class GeneratedStreamBuf : public std::streambuf {
 public:
  explicit GeneratedStreamBuf(const GeneratorOptions& options) {
    producer_ = std::thread([this, options] {
      Generate(options, [this](std::string_view chunk) {
        std::unique_lock<std::mutex> lock(mu_);
        not_full_.wait(lock, [this] { return queue_.size() < kMaxQueuedChunks || stop_; });
        if (stop_) return false;
        queue_.emplace_back(chunk);
        not_empty_.notify_one();
        return true;
      });
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
      not_empty_.notify_all();
    });
  }

  ~GeneratedStreamBuf() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      not_full_.notify_all();
    }
    producer_.join();
  }

 protected:
  int_type underflow() override {
    if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
    std::unique_lock<std::mutex> lock(mu_);
    not_empty_.wait(lock, [this] { return !queue_.empty() || done_; });
    if (queue_.empty()) return traits_type::eof();
    current_ = std::move(queue_.front());
    queue_.pop_front();
    not_full_.notify_one();
    lock.unlock();
    char* begin = current_.data();
    setg(begin, begin, begin + current_.size());
    return traits_type::to_int_type(*gptr());
  }

 private:
  std::mutex mu_;
  std::condition_variable not_full_;
  std::condition_variable not_empty_;
  std::deque<std::string> queue_;
  bool done_ = false;
  bool stop_ = false;
  std::string current_;
  std::thread producer_;
};

class GeneratedStream : public std::istream {
 public:
  explicit GeneratedStream(const GeneratorOptions& options) : std::istream(nullptr), buf_(options) {
    rdbuf(&buf_);
  }

 private:
  GeneratedStreamBuf buf_;
};

}  // namespace

std::unique_ptr<std::istream> OpenGeneratedStream(const GeneratorOptions& options) {
  return std::make_unique<GeneratedStream>(options);
}

}  // namespace pathwise::bench
