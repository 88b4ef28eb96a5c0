// bench/: the synthetic shop-graph generator and the `pathwise bench ...` benchmarks
// (engine, query, http). Figures are recorded in docs/benchmarks.md.
#pragma once

namespace pathwise::bench {

// `pathwise bench <engine|query|http|overrun|generate> [options]`; argv[0] is "bench". Returns an exit
// code.
int Main(int argc, char** argv);

}  // namespace pathwise::bench
