// WriteBatch: an ordered list of column-family operations, turned into one rocksdb::WriteBatch
// by Store::Write or ahead by Store::Prepare (store.cc). Kept free of rocksdb types so a batch
// can be built before (or without) a Store.
#include <algorithm>
#include <functional>

#include "storage/codec.h"
#include "storage/storage.h"
#include "storage/write_batch_rep.h"

namespace pathwise::storage {

WriteBatch::WriteBatch() : rep_(std::make_unique<Rep>()) {}
WriteBatch::~WriteBatch() = default;
WriteBatch::WriteBatch(WriteBatch&&) noexcept = default;
WriteBatch& WriteBatch::operator=(WriteBatch&&) noexcept = default;

void WriteBatch::PutNode(const NodeRecord& node) {
  rep_->Add(Cf::kNodes, BatchOp::kPut, codec::NodeKey(node.id),
            codec::EncodeNodeValue(node.type, node.key, node.props));
  std::string id;
  codec::PutU32BE(&id, node.id);
  rep_->Add(Cf::kNodeIds, BatchOp::kPut, codec::NodeIdKey(node.type, node.key), std::move(id));
}

void WriteBatch::DeleteNode(NodeId id, TypeId type, std::string_view key) {
  rep_->Add(Cf::kNodes, BatchOp::kDelete, codec::NodeKey(id), {});
  rep_->Add(Cf::kNodeIds, BatchOp::kDelete, codec::NodeIdKey(type, key), {});
}

void WriteBatch::PutEdge(const EdgeRecord& edge) {
  rep_->Add(Cf::kEdges, BatchOp::kPut, codec::EdgeKey(edge.src, edge.type, edge.dst),
            codec::EncodeEdgeValue(edge.weight, edge.ts, edge.count, edge.props));
  rep_->Add(Cf::kRedges, BatchOp::kPut, codec::EdgeKey(edge.dst, edge.type, edge.src), {});
}

void WriteBatch::DeleteEdge(NodeId src, TypeId type, NodeId dst) {
  rep_->Add(Cf::kEdges, BatchOp::kDelete, codec::EdgeKey(src, type, dst), {});
  rep_->Add(Cf::kRedges, BatchOp::kDelete, codec::EdgeKey(dst, type, src), {});
}

void WriteBatch::PutVector(SpaceId space, NodeId node, std::span<const float> values) {
  rep_->Add(Cf::kVectors, BatchOp::kPut, codec::VectorKey(space, node),
            codec::EncodeVector(values));
  rep_->Add(Cf::kDirtyVectors, BatchOp::kPut, codec::VectorKey(space, node), {});
}

void WriteBatch::DeleteVector(SpaceId space, NodeId node) {
  rep_->Add(Cf::kVectors, BatchOp::kDelete, codec::VectorKey(space, node), {});
  rep_->Add(Cf::kDirtyVectors, BatchOp::kPut, codec::VectorKey(space, node), {});
}

void WriteBatch::PutMeta(std::string_view key, std::string_view value) {
  rep_->Add(Cf::kMeta, BatchOp::kPut, std::string(key), std::string(value));
}

void WriteBatch::DeleteMeta(std::string_view key) {
  rep_->Add(Cf::kMeta, BatchOp::kDelete, std::string(key), {});
}

void WriteBatch::PutImpressionLog(std::string_view key, std::string_view value) {
  rep_->Add(Cf::kImpressions, BatchOp::kPut, std::string(key), std::string(value));
}

void WriteBatch::PutEventLog(std::string_view key, std::string_view value) {
  rep_->Add(Cf::kEvents, BatchOp::kPut, std::string(key), std::string(value));
}

size_t WriteBatch::Count() const { return rep_->ops.size(); }
size_t WriteBatch::ByteSize() const { return rep_->bytes; }

void WriteBatch::RollbackTo(size_t mark) { rep_->Truncate(mark); }

void WriteBatch::Clear() { rep_->Clear(); }

void WriteBatch::Rep::Add(Cf cf, BatchOp op, std::string_view key, std::string_view value) {
  prepared.reset();
  bytes += key.size() + value.size() + 8;
  char* data = Allocate(key.size() + value.size());
  std::copy(key.begin(), key.end(), data);
  std::copy(value.begin(), value.end(), data + key.size());
  ops.push_back(Op{data, key.size(), value.size(), cf, op});
}

char* WriteBatch::Rep::Allocate(size_t n) {
  if (blocks_.empty() || blocks_.back().capacity - used_ < n) {
    const size_t grown =
        blocks_.empty() ? kFirstBlock : std::min(2 * blocks_.back().capacity, kMaxBlock);
    Block block;
    block.capacity = std::max(grown, n);
    block.data = std::make_unique<char[]>(block.capacity);
    blocks_.push_back(std::move(block));
    used_ = 0;
  }
  char* out = blocks_.back().data.get() + used_;
  used_ += n;
  return out;
}

void WriteBatch::Rep::Truncate(size_t count) {
  if (count >= ops.size()) return;
  prepared.reset();
  for (size_t i = count; i < ops.size(); ++i) bytes -= ops[i].key_size + ops[i].value_size + 8;
  // The first dropped operation's bytes start where the kept ones end: blocks after its own
  // are freed, and its own is used up to it.
  const char* end = ops[count].data;
  ops.resize(count);
  auto in_last_block = [&] {  // std::less_equal: a total order over pointers of any blocks
    const char* begin = blocks_.back().data.get();
    return std::less_equal<const char*>()(begin, end) &&
           std::less_equal<const char*>()(end, begin + blocks_.back().capacity);
  };
  while (!in_last_block()) blocks_.pop_back();
  used_ = static_cast<size_t>(end - blocks_.back().data.get());
}

void WriteBatch::Rep::Clear() {
  prepared.reset();
  ops.clear();
  bytes = 0;
  blocks_.clear();
  used_ = 0;
}

}  // namespace pathwise::storage
