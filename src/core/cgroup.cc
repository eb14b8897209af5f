#include "core/cgroup.h"
