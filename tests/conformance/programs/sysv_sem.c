// System V semaphores: semget (by key with IPC_CREAT, EEXIST with IPC_EXCL, ENOENT without
// IPC_CREAT, EINVAL for more semaphores than the set has or none for a new one); SETVAL, SETALL,
// GETALL and ERANGE beyond 32767; semop applies all of its operations or none (EAGAIN with
// IPC_NOWAIT, nothing changed), EFBIG for a semaphore beyond the set, E2BIG for over 500
// operations; semtimedop's timeout is EAGAIN; a semop that waits is woken by a fork child's, and
// GETNCNT counts it while it waits; SEM_UNDO is undone when the process exits; GETPID names the
// last process to change the semaphore; IPC_RMID wakes a waiter (GETZCNT) with EIDRM and the id
// is EINVAL from then on.
#include <sys/sem.h>
#include <sys/wait.h>
#include <time.h>

#include "conf.h"

union semun {
  int val;
  struct semid_ds* buf;
  unsigned short* array;
};

static int value(int id, int num) { return semctl(id, num, GETVAL); }

int main(void) {
  // A key of this run's own: native runs of the suite go on at once on the host.
  const key_t key = (key_t)(0x5e500000 | (getpid() & 0xfffff));
  const int id = semget(key, 3, IPC_CREAT | IPC_EXCL | 0600);
  CHECK(id >= 0);
  printf("again with IPC_EXCL: %s\n", ERRNO_OF(semget(key, 3, IPC_CREAT | IPC_EXCL | 0600)));
  printf("the same key finds it: %d\n", semget(key, 2, 0600) == id);
  printf("more than it has: %s\n", ERRNO_OF(semget(key, 4, 0600)));
  printf("an unknown key: %s\n", ERRNO_OF(semget(key ^ 0x00100000, 1, 0600)));  // no run's own
  printf("no semaphores: %s\n", ERRNO_OF(semget(IPC_PRIVATE, 0, 0600)));

  union semun arg;
  printf("new values: %d %d %d\n", value(id, 0), value(id, 1), value(id, 2));
  arg.val = 32768;
  printf("SETVAL 32768: %s\n", ERRNO_OF(semctl(id, 0, SETVAL, arg)));
  unsigned short all[3] = {2, 0, 5};
  arg.array = all;
  CHECK(semctl(id, 0, SETALL, arg) == 0);
  unsigned short got[3] = {0, 0, 0};
  arg.array = got;
  CHECK(semctl(id, 0, GETALL, arg) == 0);
  printf("GETALL: %u %u %u\n", got[0], got[1], got[2]);
  struct semid_ds ds;
  arg.buf = &ds;
  CHECK(semctl(id, 0, IPC_STAT, arg) == 0);
  printf("IPC_STAT: %lu semaphores, mode %o\n", (unsigned long)ds.sem_nsems, ds.sem_perm.mode & 0777);

  struct sembuf both[2] = {{0, -1, IPC_NOWAIT}, {1, -1, IPC_NOWAIT}};
  printf("all or nothing: %s", ERRNO_OF(semop(id, both, 2)));
  printf(", values %d %d\n", value(id, 0), value(id, 1));
  struct sembuf beyond = {3, 1, 0};
  printf("a semaphore beyond the set: %s\n", ERRNO_OF(semop(id, &beyond, 1)));
  static struct sembuf many[501];
  printf("501 operations: %s\n", ERRNO_OF(semop(id, many, 501)));
  struct sembuf over = {2, 32767, 0};
  printf("beyond 32767: %s, value %d\n", ERRNO_OF(semop(id, &over, 1)), value(id, 2));
  struct timespec short_wait = {0, 50 * 1000 * 1000};
  struct sembuf for_zero = {2, 0, 0};
  printf("semtimedop for zero: %s\n", ERRNO_OF(semtimedop(id, &for_zero, 1, &short_wait)));

  // A waiter woken by another process.
  pid_t child = fork();
  if (child == 0) {
    while (semctl(id, 1, GETNCNT) == 0) usleep(1000);
    const int waiting = semctl(id, 1, GETNCNT);
    struct sembuf post = {1, 1, 0};
    _exit(semop(id, &post, 1) == 0 ? waiting : 100);
  }
  struct sembuf take = {1, -1, 0};
  CHECK(semop(id, &take, 1) == 0);
  int status = 0;
  waitpid(child, &status, 0);
  printf("woken by the child, which counted %d waiter(s); value %d\n", WEXITSTATUS(status), value(id, 1));
  printf("GETPID names the last to change it: %d\n", semctl(id, 1, GETPID) == getpid());

  child = fork();
  if (child == 0) {
    struct sembuf up = {0, 3, SEM_UNDO};
    _exit(semop(id, &up, 1) == 0 ? value(id, 0) : 100);
  }
  waitpid(child, &status, 0);
  printf("SEM_UNDO: %d in the child, %d once it exited\n", WEXITSTATUS(status), value(id, 0));

  child = fork();
  if (child == 0) {
    const int r = semop(id, &for_zero, 1);
    _exit(r == -1 && errno == EIDRM ? 1 : 0);
  }
  while (semctl(id, 2, GETZCNT) == 0) usleep(1000);
  printf("GETZCNT: %d\n", semctl(id, 2, GETZCNT));
  CHECK(semctl(id, 0, IPC_RMID) == 0);
  waitpid(child, &status, 0);
  printf("the waiter of a removed set: %s\n", WEXITSTATUS(status) ? "EIDRM" : "not EIDRM");
  printf("the removed id: %s\n", ERRNO_OF(semctl(id, 0, GETVAL)));
  return 0;
}
