// spectrum-oci: the runc-compatible runtime alone, statically linked. The same code as
// `spectrum create|start|...`, without the other tiers' code, dynamic loading and start-up, for
// clients that start one runtime process per operation (`ctr run --runc-binary spectrum-oci`).
#include "container/runc_cli.h"

int main(int argc, char** argv) { return spectrum::container::runc_main(argc, argv); }
