// ThreadSanitizer defaults for the reliability tests only (read by the TSan runtime at start-up;
// TSAN_OPTIONS from scripts/test.sh add to them). Races are still reported; lock-order
// ("potential deadlock") reports are not: the power-loss test reopens the database a hundred
// times, and TSan reports lock-order cycles on its main thread between hnswlib's per-element
// mutexes and one other mutex with no stacks recorded, which the `addPoint` suppression in
// scripts/tsan.supp cannot match (docs/reliability.md, "Findings"). In other builds the
// function is never called.
extern "C" const char* __tsan_default_options() { return "detect_deadlocks=0"; }
