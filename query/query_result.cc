// The JSON form of QueryResult (docs/query-language.md, "Result shape").
#include "query/query.h"

namespace pathwise {

nlohmann::json QueryResult::ToJson() const {
  nlohmann::json out = {{"columns", columns},
                        {"rows", rows},
                        {"explanations", explanations},
                        {"stats", stats},
                        {"profile", profile}};
  if (!why_not.is_null()) out["why_not"] = why_not;
  return out;
}

}  // namespace pathwise
