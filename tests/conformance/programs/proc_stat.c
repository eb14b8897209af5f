// /proc/stat: the machine's CPU times in clock ticks ("cpu" and one "cpuN" line per CPU, ten
// columns each), with btime (boot, in seconds since the epoch) agreeing with /proc/uptime, and the
// counters procps, libuv (node's os.cpus()) and top read. A loop's CPU time shows in the totals.
#include <time.h>

#include "conf.h"

struct cpu_line {
  unsigned long long columns[10];
  int count;
};

static int read_stat(struct cpu_line* total, int* cpus, long long* btime, long long* processes, int* running) {
  FILE* f = fopen("/proc/stat", "r");
  if (!f) return 0;
  char line[1024];
  *cpus = 0;
  *btime = *processes = -1;
  *running = -1;
  total->count = 0;
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "cpu ", 4) == 0) {
      char* p = line + 4;
      for (int i = 0; i < 10; i++) {
        char* end;
        total->columns[i] = strtoull(p, &end, 10);
        if (end == p) break;
        total->count++;
        p = end;
      }
    } else if (strncmp(line, "cpu", 3) == 0 && line[3] >= '0' && line[3] <= '9') {
      (*cpus)++;
    }
    sscanf(line, "btime %lld", btime);
    sscanf(line, "processes %lld", processes);
    sscanf(line, "procs_running %d", running);
  }
  fclose(f);
  return 1;
}

int main(void) {
  struct cpu_line before, after;
  int cpus, running;
  long long btime, processes;
  CHECK(read_stat(&before, &cpus, &btime, &processes, &running));
  printf("cpu line with 10 columns: %d\n", before.count == 10);
  printf("per-CPU lines: %d\n", cpus >= 1);
  printf("processes and procs_running: %d %d\n", processes >= 1, running >= 1);
  FILE* f = fopen("/proc/uptime", "r");
  CHECK(f);
  double up;
  CHECK(fscanf(f, "%lf", &up) == 1);
  fclose(f);
  printf("btime is now less uptime: %d\n", (long long)time(NULL) - (long long)up - btime <= 2 &&
                                              btime - ((long long)time(NULL) - (long long)up) <= 2);
  struct timespec start, now;
  CHECK(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &start) == 0);
  do {
    for (volatile int i = 0; i < 100000; i++) {
    }
    CHECK(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now) == 0);
  } while ((now.tv_sec - start.tv_sec) * 1000000000LL + (now.tv_nsec - start.tv_nsec) < 300000000LL);
  CHECK(read_stat(&after, &cpus, &btime, &processes, &running));
  const unsigned long long busy_before = before.columns[0] + before.columns[1] + before.columns[2],
                           busy_after = after.columns[0] + after.columns[1] + after.columns[2];
  printf("300 ms of CPU: user+nice+system grew by 20 ticks or more: %d\n", busy_after - busy_before >= 20);
  return 0;
}
