#pragma once
namespace spectrum::cli {
// Each takes argv starting at the command word.
int run_command(int argc, char** argv);
int info_command(int argc, char** argv);
}  // namespace spectrum::cli
