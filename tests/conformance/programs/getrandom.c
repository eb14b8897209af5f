// getrandom: the bytes asked for, different each call, flags checked.
#include <sys/random.h>

#include "conf.h"
int main(void) {
  unsigned char a[64], b[64];
  CHECK(getrandom(a, sizeof a, 0) == 64);
  CHECK(getrandom(b, sizeof b, GRND_NONBLOCK) == 64);
  printf("two calls differ: %d\n", memcmp(a, b, 64) != 0);
  int zeros = 0;
  for (int i = 0; i < 64; i++) zeros += a[i] == 0;
  printf("not all zero: %d\n", zeros < 64);
  printf("bad flags: %s\n", ERRNO_OF(getrandom(a, 1, 0x1000)));
  void* volatile bad = (void*)8;  // volatile: the compiler must not see the address
  printf("bad address: %s\n", ERRNO_OF(getrandom(bad, 16, 0)));
  return 0;
}
