// The start-up state a loader leaves: argv, envp, and the auxiliary vector's fixed entries.
#include <sys/auxv.h>

#include "conf.h"
extern char** environ;
int main(int argc, char** argv) {
  printf("argc=%d argv[1]=%s argv[2]=%s argv[argc] null=%d\n", argc, argc > 1 ? argv[1] : "-",
         argc > 2 ? argv[2] : "-", argv[argc] == NULL);
  int n = 0;
  for (char** e = environ; *e; e++) n++;
  printf("CONF_ENV=%s\n", getenv("CONF_ENV") ? getenv("CONF_ENV") : "(unset)");
  printf("AT_PAGESZ=%lu AT_SECURE=%lu\n", getauxval(AT_PAGESZ), getauxval(AT_SECURE));
  printf("AT_RANDOM set=%d AT_PHDR set=%d AT_ENTRY set=%d\n", getauxval(AT_RANDOM) != 0,
         getauxval(AT_PHDR) != 0, getauxval(AT_ENTRY) != 0);
  printf("AT_UID=%lu AT_EUID=%lu AT_GID=%lu\n", getauxval(AT_UID), getauxval(AT_EUID), getauxval(AT_GID));
  const char* exe = (const char*)getauxval(AT_EXECFN);
  printf("AT_EXECFN=%s\n", exe ? exe : "(none)");
  return 0;
}
