// mmap of /dev/zero, the way to get memory before MAP_ANONYMOUS: MAP_PRIVATE gives zeroed memory
// of the process's own (a fork child's writes stay in the child), MAP_SHARED gives memory shared
// with fork's children (named "/dev/zero (deleted)" in /proc/self/maps, as Linux names it).
// /dev/null cannot be mapped (ENODEV).
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "conf.h"

static int maps_names_dev_zero(const void* at) {
  FILE* maps = fopen("/proc/self/maps", "r");
  if (!maps) return -1;
  char line[512];
  int named = 0;
  while (fgets(line, sizeof line, maps)) {
    unsigned long start, end;
    if (sscanf(line, "%lx-%lx", &start, &end) == 2 && (unsigned long)at >= start && (unsigned long)at < end)
      named = strstr(line, "/dev/zero (deleted)") != NULL;
  }
  fclose(maps);
  return named;
}

int main(void) {
  int zero = open("/dev/zero", O_RDWR);
  if (zero < 0) return 1;
  const size_t size = 3 * 4096;
  unsigned char* private_map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, zero, 0);
  unsigned char* shared_map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, zero, 0);
  if (private_map == MAP_FAILED || shared_map == MAP_FAILED) {
    printf("mmap of /dev/zero failed: %s\n", strerrorname_np(errno));
    return 1;
  }
  int zeros = 1;
  for (size_t i = 0; i < size; ++i) zeros &= private_map[i] == 0 && shared_map[i] == 0;
  printf("both read as zero: %d\n", zeros);
  private_map[5000] = 1;
  shared_map[5000] = 1;
  pid_t child = fork();
  if (child == 0) {
    private_map[5000] = 7;
    shared_map[5000] = 7;
    _exit(0);
  }
  waitpid(child, NULL, 0);
  printf("after the child wrote 7: private %d, shared %d\n", private_map[5000], shared_map[5000]);
  printf("the shared one named /dev/zero (deleted): %d\n", maps_names_dev_zero(shared_map));
  munmap(private_map, size);
  munmap(shared_map, size);

  int null = open("/dev/null", O_RDWR);
  void* nothing = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, null, 0);
  printf("mmap of /dev/null: %s\n", nothing == MAP_FAILED ? strerrorname_np(errno) : "mapped");
  return 0;
}
