/* The smallest workload: one line on stdout. Used for cold-start measurements. */
#include <stdio.h>

int main(void) {
  puts("hello from spectrum");
  return 0;
}
