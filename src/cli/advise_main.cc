// spectrum-advise: `spectrum advise` in a binary of its own, which `spectrum` execs. yaml-cpp
// brings <iostream> and a dozen static constructors that would run at every start of spectrum
// (its resident set at `--version` went from 0.8 to 2.0 MiB); here they cost only advise.
#include "cli/commands.h"

int main(int argc, char** argv) { return spectrum::cli::advise_command(argc, argv); }
