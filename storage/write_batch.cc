// WriteBatch: an ordered list of column-family operations, turned into one rocksdb::WriteBatch
// by Store::Write (store.cc). Kept free of rocksdb types so a batch can be built before (or
// without) a Store.
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

void WriteBatch::RollbackTo(size_t mark) {
  while (rep_->ops.size() > mark) {
    const Rep::Op& op = rep_->ops.back();
    rep_->bytes -= op.key.size() + op.value.size() + 8;
    rep_->ops.pop_back();
  }
}

void WriteBatch::Clear() {
  rep_->ops.clear();
  rep_->bytes = 0;
}

}  // namespace pathwise::storage
