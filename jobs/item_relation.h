// Internal to jobs/: the schema side of the jobs that read a user -> item relation and write an
// item -> item model edge type (similarity, transitions).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "db/database.h"
#include "graph/similarity.h"

namespace pathwise::jobs {

struct ItemRelation {
  TypeId edge = kInvalidType;  // the relation
  TypeId user = kInvalidType;  // its source type
  TypeId item = kInvalidType;  // its target type
  std::string item_name;
  bool declare_output = false;  // the output type does not exist yet
};

// Checks that `output` is not `edge`, that `edge` is declared with two different endpoint types
// and that `output` is absent
// (and could be declared item -> item) or already connects item -> item. InvalidArgument naming
// the problem; `job` names the job in the message.
Result<ItemRelation> ResolveItemRelation(const Schema& schema, const std::string& edge,
                                         const std::string& output, std::string_view job);

// Declares `output` as a replace-mode item -> item edge type.
Status DeclareItemOutput(Database& db, const std::string& output, const std::string& item_name);

// A top-k model's rows as edges stamped now: items[n]'s neighbours are
// neighbors[offsets[n] .. offsets[n + 1]), each edge weighted by its score.
std::vector<graph::Graph::NewEdge> ModelEdges(const std::vector<NodeId>& items,
                                              const std::vector<size_t>& offsets,
                                              const std::vector<graph::ScoredItem>& neighbors);

}  // namespace pathwise::jobs
