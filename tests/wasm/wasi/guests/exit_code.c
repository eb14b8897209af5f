/* Exits with argv[1]; with "return" as argv[2], returns it from main instead of calling exit. */
#include <stdlib.h>
#include <string.h>

int main(int argc, char** argv) {
  int code = argc > 1 ? atoi(argv[1]) : 0;
  if (argc > 2 && strcmp(argv[2], "return") == 0) return code;
  exit(code);
}
