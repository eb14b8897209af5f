// futex directly and through a condition variable: wait/wake across threads, EAGAIN on a changed word.
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <time.h>

#include "conf.h"
static atomic_int word;
static long futex(atomic_int* addr, int op, int val, const struct timespec* ts) {
  return syscall(SYS_futex, addr, op, val, ts, NULL, 0);
}
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int turn, rounds;
static void* ponger(void* arg) {
  (void)arg;
  for (int i = 0; i < 500; i++) {
    pthread_mutex_lock(&m);
    while (turn != 1) pthread_cond_wait(&cv, &m);
    turn = 0;
    rounds++;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&m);
  }
  return NULL;
}
static void* waker(void* arg) {
  (void)arg;
  // A wake that finds no waiter is not lost: the waiter's FUTEX_WAIT sees 1 and returns EAGAIN.
  atomic_store(&word, 1);
  futex(&word, FUTEX_WAKE_PRIVATE, 1, NULL);
  return NULL;
}
int main(void) {
  printf("wait on a changed value: %s\n", ERRNO_OF(futex(&word, FUTEX_WAIT_PRIVATE, 5, NULL)));
  struct timespec ts = {0, 20 * 1000 * 1000};
  printf("wait with timeout: %s\n", ERRNO_OF(futex(&word, FUTEX_WAIT_PRIVATE, 0, &ts)));
  printf("wake nobody: %ld\n", futex(&word, FUTEX_WAKE_PRIVATE, 1, NULL));
  pthread_t t;
  CHECK(pthread_create(&t, NULL, waker, NULL) == 0);
  while (atomic_load(&word) == 0) {
    long r = futex(&word, FUTEX_WAIT_PRIVATE, 0, NULL);
    CHECK(r == 0 || errno == EAGAIN || errno == EINTR);
  }
  CHECK(pthread_join(t, NULL) == 0);
  printf("woken by another thread: %d\n", atomic_load(&word));
  CHECK(pthread_create(&t, NULL, ponger, NULL) == 0);
  for (int i = 0; i < 500; i++) {
    pthread_mutex_lock(&m);
    while (turn != 0) pthread_cond_wait(&cv, &m);
    turn = 1;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&m);
  }
  CHECK(pthread_join(t, NULL) == 0);
  printf("condition variable ping-pong rounds: %d\n", rounds);
  return 0;
}
