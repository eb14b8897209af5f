// Preemption: the main thread spins on a flag that a second thread sets (never blocking, never
// making a system call while it waits), and both keep vector registers live across the switch.
#include <pthread.h>
#include <stdatomic.h>

#include "conf.h"
static atomic_int flag;
static volatile double worker_sum;
static void* worker(void* arg) {
  (void)arg;
  double sum = 0;  // floating point work in this thread while the other spins
  for (int i = 1; i <= 2000000; i++) sum += 1.0 / i;
  worker_sum = sum;
  atomic_store(&flag, 1);
  return NULL;
}
int main(void) {
  pthread_t t;
  CHECK(pthread_create(&t, NULL, worker, NULL) == 0);
  double mine = 0;
  long spins = 0;
  while (!atomic_load(&flag)) {
    mine += 0.5;  // a live floating point register the other thread must not disturb
    spins++;
  }
  CHECK(pthread_join(t, NULL) == 0);
  printf("the spinning thread saw the flag\n");
  printf("its own sum intact: %d\n", mine == 0.5 * (double)spins);
  printf("worker's sum: %.6f\n", worker_sum);
  return 0;
}
