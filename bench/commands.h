// The `pathwise bench` subcommands (internal to bench/). Each returns an exit code.
#pragma once

namespace pathwise::bench {

int GenerateMain(int argc, char** argv);
int EngineMain(int argc, char** argv);
int QueryMain(int argc, char** argv);
int HttpMain(int argc, char** argv);
int OverrunMain(int argc, char** argv);
int DecideMain(int argc, char** argv);
int ExplainMain(int argc, char** argv);
int LoadMain(int argc, char** argv);
int LoopMain(int argc, char** argv);
int CountersMain(int argc, char** argv);
int ReplaceMain(int argc, char** argv);

}  // namespace pathwise::bench
