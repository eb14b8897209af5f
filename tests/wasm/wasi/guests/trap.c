/* Faults on purpose: argv[1] = "unreachable" (abort) or "divide" (integer divide by zero) or
   "oob" (a load past the end of linear memory). */
#include <stdio.h>
#include <string.h>

int main(int argc, char** argv) {
  const char* kind = argc > 1 ? argv[1] : "unreachable";
  volatile int zero = 0;
  if (strcmp(kind, "divide") == 0) return 10 / zero;
  if (strcmp(kind, "oob") == 0) return *(volatile int*)(0xFFFFFFF0u);
  __builtin_trap();
}
