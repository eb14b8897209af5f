// uname: sysname and machine are Linux's (release and node name are each tier's own).
#include <sys/utsname.h>

#include "conf.h"
int main(void) {
  struct utsname u;
  CHECK(uname(&u) == 0);
  printf("sysname=%s machine=%s\n", u.sysname, u.machine);
  printf("release looks like a version: %d\n",
         u.release[0] >= '2' && u.release[0] <= '9' && strchr(u.release, '.'));
  return 0;
}
