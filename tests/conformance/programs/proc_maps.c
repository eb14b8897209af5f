// /proc/self/maps shows the program's image (an executable part among them) and the stack, and a
// fresh mapping appears with the protection asked for.
#include <sys/mman.h>

#include "conf.h"
int main(void) {
  char exe[256] = {0};
  CHECK(readlink("/proc/self/exe", exe, sizeof exe - 1) > 0);
  char* p = mmap(NULL, 3 * 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(p != MAP_FAILED);
  char want[64];
  snprintf(want, sizeof want, "%lx-%lx r--p", (unsigned long)p, (unsigned long)(p + 3 * 4096));
  FILE* maps = fopen("/proc/self/maps", "r");
  CHECK(maps);
  char line[512];
  int image = 0, exec_image = 0, stack = 0, mine = 0;
  while (fgets(line, sizeof line, maps)) {
    if (strstr(line, exe)) image++, exec_image += strstr(line, " r-xp ") != NULL;
    stack += strstr(line, "[stack]") != NULL;
    mine += strncmp(line, want, strlen(want)) == 0;
  }
  fclose(maps);
  printf("image mapped=%d executable part=%d stack=%d new mapping r--p=%d\n", image > 0, exec_image > 0,
         stack, mine);
  return 0;
}
