// /proc/sysvipc lists the IPC namespace's System V objects in Linux's columns: a shared memory
// segment (size, creator and last attacher, attaches, SHM_DEST and key 0 once removed while
// attached, gone once detached), a semaphore set (nsems, the time of the last semop) and a
// message queue (bytes and messages held, the last sender). Only this program's own rows are
// read: native runs share the host's namespace with whatever else runs there.
#include <dirent.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <time.h>

#include "conf.h"

enum { kColumns = 20 };
static char header[256];

// The columns of the row of /proc/sysvipc/NAME whose id (second column) is `id`: how many, 0 if
// it is not listed. The header line is kept in `header`.
static int row(const char* name, int id, char columns[kColumns][32]) {
  char path[64];
  snprintf(path, sizeof path, "/proc/sysvipc/%s", name);
  FILE* f = fopen(path, "r");
  if (!f) {
    printf("%s: %s\n", path, strerrorname_np(errno));
    return 0;
  }
  char line[512];
  int found = 0;
  if (fgets(header, sizeof header, f)) header[strcspn(header, "\n")] = 0;
  while (!found && fgets(line, sizeof line, f)) {
    int n = 0;
    char* save = NULL;
    for (char* t = strtok_r(line, " \n", &save); t && n < kColumns; t = strtok_r(NULL, " \n", &save))
      snprintf(columns[n++], 32, "%s", t);
    if (n > 1 && atoi(columns[1]) == id) found = n;
  }
  fclose(f);
  return found;
}

static int recent(const char* column, time_t now) { return labs(atol(column) - (long)now) < 5; }

int main(void) {
  DIR* d = opendir("/proc/sysvipc");
  CHECK(d);
  const char* names[8];
  int count = 0;
  for (struct dirent* e; (e = readdir(d)) && count < 8;)
    if (e->d_name[0] != '.') names[count++] = strdup(e->d_name);
  closedir(d);
  for (int i = 0; i < count; i++)  // (any order: sorted here)
    for (int j = i + 1; j < count; j++)
      if (strcmp(names[j], names[i]) < 0) {
        const char* t = names[i];
        names[i] = names[j];
        names[j] = t;
      }
  printf("/proc/sysvipc:");
  for (int i = 0; i < count; i++) printf(" %s", names[i]);
  printf("\n");

  const time_t now = time(NULL);
  char c[kColumns][32];
  const int shm = shmget(IPC_PRIVATE, 4097, IPC_CREAT | 0640);
  CHECK(shm >= 0);
  char* at = shmat(shm, NULL, 0);
  CHECK(at != (void*)-1);
  at[0] = 1;
  int n = row("shm", shm, c);
  printf("shm header: %s\n", header);
  printf("shm: %d columns, key %s perms %s size %s cpid mine %d lpid mine %d nattch %s uid %s cuid %s "
         "atime recent %d dtime %s ctime recent %d swap %s\n",
         n, c[0], c[2], c[3], atoi(c[4]) == getpid(), atoi(c[5]) == getpid(), c[6], c[7], c[9],
         recent(c[11], now), c[12], recent(c[13], now), c[15]);
  CHECK(shmctl(shm, IPC_RMID, NULL) == 0);
  n = row("shm", shm, c);
  printf("removed while attached: %d columns, key %s perms %s nattch %s\n", n, c[0], c[2], c[6]);
  CHECK(shmdt(at) == 0);
  printf("detached: listed %d\n", row("shm", shm, c) > 0);

  const int sem = semget(IPC_PRIVATE, 3, IPC_CREAT | 0600);
  CHECK(sem >= 0);
  n = row("sem", sem, c);
  printf("sem header: %s\n", header);
  printf("sem: %d columns, key %s perms %s nsems %s uid %s otime %s ctime recent %d\n", n, c[0], c[2], c[3],
         c[4], c[8], recent(c[9], now));
  struct sembuf op = {0, 1, 0};
  CHECK(semop(sem, &op, 1) == 0);
  n = row("sem", sem, c);
  printf("after a semop: otime recent %d\n", n && recent(c[8], now));
  CHECK(semctl(sem, 0, IPC_RMID) == 0);
  printf("removed: listed %d\n", row("sem", sem, c) > 0);

  const int q = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
  CHECK(q >= 0);
  struct {
    long type;
    char text[8];
  } m = {1, "hello"};
  CHECK(msgsnd(q, &m, 5, 0) == 0);
  CHECK(msgsnd(q, &m, 3, 0) == 0);
  n = row("msg", q, c);
  printf("msg header: %s\n", header);
  printf("msg: %d columns, key %s perms %s cbytes %s qnum %s lspid mine %d lrpid %s stime recent %d rtime %s\n",
         n, c[0], c[2], c[3], c[4], atoi(c[5]) == getpid(), c[6], recent(c[11], now), c[12]);
  CHECK(msgrcv(q, &m, sizeof m.text, 0, 0) == 5);
  n = row("msg", q, c);
  printf("after a receive: cbytes %s qnum %s lrpid mine %d rtime recent %d\n", c[3], c[4], atoi(c[6]) == getpid(),
         n && recent(c[12], now));
  CHECK(msgctl(q, IPC_RMID, NULL) == 0);
  printf("removed: listed %d\n", row("msg", q, c) > 0);
  return 0;
}
