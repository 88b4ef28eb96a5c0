// bench/: the synthetic shop-graph generator and the `pathwise bench ...` benchmarks
// (engine, query, http, decide, loop, ...). Figures are recorded in docs/benchmarks.md (the loop's
// in docs/feedback-loop.md).
#pragma once

namespace pathwise::bench {

// `pathwise bench <command> [options]` (bench_main.cc lists the commands); argv[0] is "bench".
// Returns an exit code.
int Main(int argc, char** argv);

}  // namespace pathwise::bench
