/* Threads as glibc makes them (clone with CLONE_VM|CLONE_THREAD|CLONE_SETTLS|CLONE_CHILD_CLEARTID,
 * futexes under mutexes, condition variables and join). One line per check, no ids printed.
 * Usage: threads */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static long counter;
static int ready;
static __thread int mine; /* TLS: each thread its own */
static pid_t main_pid;

static volatile int signalled_thread;
static void on_usr1(int sig) { signalled_thread = sig == SIGUSR1 && syscall(SYS_gettid) != main_pid; }

static void* worker(void* arg) {
  mine = (int)(long)arg;
  for (int i = 0; i < 1000; ++i) {
    pthread_mutex_lock(&lock);
    ++counter;
    if (i % 100 == 0) sched_yield();
    pthread_mutex_unlock(&lock);
  }
  int ok = getpid() == main_pid && syscall(SYS_gettid) != main_pid;
  pthread_mutex_lock(&lock);
  ++ready;
  pthread_cond_signal(&cond);
  pthread_mutex_unlock(&lock);
  return (void*)(long)(mine * 10 + ok);
}

static void* signal_me(void* arg) {
  (void)arg;
  while (!signalled_thread) sched_yield();
  return NULL;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  main_pid = getpid();
  mine = 99;
  pthread_t t[4];
  for (long i = 0; i < 4; ++i) pthread_create(&t[i], NULL, worker, (void*)(i + 1));
  pthread_mutex_lock(&lock);
  while (ready < 4) pthread_cond_wait(&cond, &lock);
  pthread_mutex_unlock(&lock);
  long sum = 0;
  for (int i = 0; i < 4; ++i) {
    void* r;
    pthread_join(t[i], &r);
    sum += (long)r;
  }
  printf("counter %ld, results %ld, main's TLS %d\n", counter, sum, mine);
  /* a signal to one thread (pthread_kill: tgkill) runs its handler in that thread */
  signal(SIGUSR1, on_usr1);
  pthread_t k;
  pthread_create(&k, NULL, signal_me, NULL);
  sched_yield(); /* the thread starts spinning first: only a yield lets this one go on */
  pthread_kill(k, SIGUSR1);
  pthread_join(k, NULL);
  printf("pthread_kill reached the thread: %d\n", signalled_thread);
  return 0;
}
