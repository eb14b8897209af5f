// pthreads: four threads share memory, a mutex guards a counter, join returns each result, TLS is per thread.
#include <pthread.h>

#include "conf.h"
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;
static __thread long mine;
static void* work(void* arg) {
  long id = (long)arg;
  for (int i = 0; i < 10000; i++) {
    mine++;
    pthread_mutex_lock(&lock);
    counter++;
    pthread_mutex_unlock(&lock);
  }
  return (void*)(id * 100 + (mine == 10000));
}
int main(void) {
  pthread_t t[4];
  for (long i = 0; i < 4; i++) CHECK(pthread_create(&t[i], NULL, work, (void*)i) == 0);
  long sum = 0;
  for (int i = 0; i < 4; i++) {
    void* r;
    CHECK(pthread_join(t[i], &r) == 0);
    sum += (long)r;
  }
  printf("counter=%ld results=%ld main's TLS untouched=%d\n", counter, sum, mine == 0);
  // A detached thread and a thread that exits the whole process with exit_group semantics.
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 1 << 20);
  pthread_t big;
  CHECK(pthread_create(&big, &attr, work, (void*)9) == 0);
  void* r;
  CHECK(pthread_join(big, &r) == 0);
  printf("thread with a 1 MiB stack: %ld\n", (long)r);
  return 0;
}
