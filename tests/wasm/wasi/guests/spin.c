/* Never ends on its own: a tight loop ("spin") or a long sleep ("sleep"). */
#include <string.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "sleep") == 0) sleep(3600);
  volatile unsigned n = 0;
  for (;;) n++;
}
