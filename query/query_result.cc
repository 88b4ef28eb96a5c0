// The JSON form of QueryResult (docs/query-language.md, "Result shape").
#include "query/query.h"

namespace pathwise {

nlohmann::json QueryResult::ToJson() const {
  return {{"columns", columns},
          {"rows", rows},
          {"explanations", explanations},
          {"stats", stats},
          {"profile", profile}};
}

}  // namespace pathwise
