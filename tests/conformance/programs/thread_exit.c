// exit from a thread ends the whole process (exit_group) with that code, while others still run.
#include <pthread.h>

#include "conf.h"
static void* spin(void* arg) {
  (void)arg;
  for (;;) PAUSE();
  return NULL;
}
static void* leave(void* arg) {
  (void)arg;
  printf("thread calls exit(12)\n");
  exit(12);
}
int main(void) {
  pthread_t a, b;
  CHECK(pthread_create(&a, NULL, spin, NULL) == 0);
  CHECK(pthread_create(&b, NULL, leave, NULL) == 0);
  pthread_join(b, NULL);
  printf("not reached\n");
  return 0;
}
