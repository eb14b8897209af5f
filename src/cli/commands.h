#pragma once
namespace spectrum::cli {
// Each takes argv starting at the command word.
int run_command(int argc, char** argv);
int info_command(int argc, char** argv);
int bench_command(int argc, char** argv);   // bench_command.cc
int advise_command(int argc, char** argv);  // advise_command.cc
}  // namespace spectrum::cli
