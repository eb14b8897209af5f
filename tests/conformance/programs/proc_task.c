// /proc/self/task lists the process's threads, each thread's directory tells its own id and name
// (status, stat, comm) under the process's ids, and /proc/thread-self is the calling thread's.
#include <dirent.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "conf.h"

static pthread_barrier_t ready, go, done;
static pthread_mutex_t output = PTHREAD_MUTEX_INITIALIZER;

static int read_text(const char* path, char* out, size_t size) {
  FILE* f = fopen(path, "r");
  if (!f) return 0;
  size_t n = fread(out, 1, size - 1, f);
  fclose(f);
  out[n] = 0;
  return 1;
}

// The value of a "Name:\tvalue" line of a status file, as a number.
static long status_field(const char* text, const char* name) {
  const char* at = strstr(text, name);
  return at ? strtol(at + strlen(name), NULL, 10) : -1;
}

static void* worker(void* arg) {
  (void)arg;
  prctl(PR_SET_NAME, "worker", 0, 0, 0);
  pthread_barrier_wait(&ready);
  pthread_barrier_wait(&go);
  pthread_mutex_lock(&output);  // each thread's lines together (they are the same lines)
  const long tid = syscall(SYS_gettid);
  char link[64], expected[64], text[4096], path[96];
  ssize_t n = readlink("/proc/thread-self", link, sizeof link - 1);
  link[n > 0 ? n : 0] = 0;
  snprintf(expected, sizeof expected, "%d/task/%ld", (int)getpid(), tid);
  printf("thread-self is this thread's: %d\n", strcmp(link, expected) == 0);
  CHECK(read_text("/proc/thread-self/comm", text, sizeof text));
  printf("its comm: %s", text);
  snprintf(path, sizeof path, "/proc/self/task/%ld/status", tid);
  CHECK(read_text(path, text, sizeof text));
  printf("status: Pid is the thread's %d, Tgid the process's %d\n", status_field(text, "\nPid:\t") == tid,
         status_field(text, "\nTgid:\t") == getpid());
  snprintf(path, sizeof path, "/proc/self/task/%ld/stat", tid);
  CHECK(read_text(path, text, sizeof text));
  printf("stat starts with the thread's id: %d\n", strtol(text, NULL, 10) == tid);
  pthread_mutex_unlock(&output);
  pthread_barrier_wait(&done);
  return NULL;
}

int main(void) {
  pthread_barrier_init(&ready, NULL, 3);
  pthread_barrier_init(&go, NULL, 3);
  pthread_barrier_init(&done, NULL, 3);
  pthread_t threads[2];
  for (int i = 0; i < 2; i++) CHECK(pthread_create(&threads[i], NULL, worker, NULL) == 0);
  pthread_barrier_wait(&ready);
  // Three threads, two named by prctl; the main thread's own directory is the process's id.
  DIR* dir = opendir("/proc/self/task");
  CHECK(dir != NULL);
  int count = 0, workers = 0, main_there = 0;
  struct dirent* e;
  while ((e = readdir(dir))) {
    if (e->d_name[0] == '.') continue;
    ++count;
    main_there |= atoi(e->d_name) == getpid();
    char path[300], text[64];
    snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
    if (read_text(path, text, sizeof text) && strcmp(text, "worker\n") == 0) ++workers;
  }
  closedir(dir);
  printf("task lists %d threads, %d named worker, the main one under the process id: %d\n", count, workers,
         main_there);
  char link[64];
  ssize_t n = readlink("/proc/thread-self", link, sizeof link - 1);
  link[n > 0 ? n : 0] = 0;
  char expected[64];
  snprintf(expected, sizeof expected, "%d/task/%d", (int)getpid(), (int)getpid());
  printf("the main thread's thread-self: %d\n", strcmp(link, expected) == 0);
  fflush(stdout);
  pthread_barrier_wait(&go);
  pthread_barrier_wait(&done);
  for (int i = 0; i < 2; i++) CHECK(pthread_join(threads[i], NULL) == 0);
  return 0;
}
