// /proc/self/status names the program and gives its state, pid and threads.
#include "conf.h"
int main(void) {
  FILE* status = fopen("/proc/self/status", "r");
  CHECK(status);
  char line[512];
  int pid_matches = 0, has_state = 0, ppid_matches = 0;
  while (fgets(line, sizeof line, status)) {
    if (strncmp(line, "Name:", 5) == 0 || strncmp(line, "Threads:", 8) == 0) printf("%s", line);
    if (strncmp(line, "Pid:", 4) == 0) pid_matches = atoi(line + 4) == getpid();
    if (strncmp(line, "PPid:", 5) == 0) ppid_matches = atoi(line + 5) == getppid();
    has_state += strncmp(line, "State:\tR", 8) == 0;
  }
  fclose(status);
  printf("Pid is getpid: %d, PPid is getppid: %d, State running: %d\n", pid_matches, ppid_matches, has_state);
  return 0;
}
