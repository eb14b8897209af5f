/* Copies stdin to stdout in upper case and writes one line to stderr. */
#include <ctype.h>
#include <stdio.h>

int main(void) {
  int c;
  while ((c = getchar()) != EOF) putchar(toupper(c));
  fputs("to stderr\n", stderr);
  return 0;
}
