// server/: the `pathwise` subcommands other than bench and demo. Each takes argv with argv[0]
// being the subcommand name and returns the process exit code:
//   0 success; 1 finished but some input was rejected (load: bad lines); 2 the command failed
//   (bad usage, database cannot be opened, I/O error).
#pragma once

namespace pathwise::server {

int LoadMain(int argc, char** argv);
int QueryMain(int argc, char** argv);
int KeysMain(int argc, char** argv);
int BackupMain(int argc, char** argv);
int RestoreMain(int argc, char** argv);
// `pathwise export impressions --since T --until T [--data DIR]` and `pathwise export features
// --as-of T [--data DIR] [--out FILE]` (cli_export.cc).
int ExportMain(int argc, char** argv);
// `pathwise evaluate replay --surface S --policy RECIPE --since T` (cli_evaluate.cc).
int EvaluateMain(int argc, char** argv);
// `pathwise jobs run NAME | show ID | list --data DIR` (cli_jobs.cc, docs/jobs.md).
int JobsMain(int argc, char** argv);

}  // namespace pathwise::server
