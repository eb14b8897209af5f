// /proc/sys answers what programs read to size or describe themselves: kernel/ostype and
// osrelease agree with uname, pid_max, somaxconn, nr_open and overcommit_memory are numbers,
// random/uuid is a new version-4 UUID at each read and random/boot_id the same one, and listing
// /proc/sys/kernel shows them. Only facts true of any correct kernel are printed.
#include <dirent.h>
#include <sys/utsname.h>

#include "conf.h"

static int read_line(const char* path, char* out, size_t size) {
  FILE* f = fopen(path, "r");
  if (!f) return 0;
  int ok = fgets(out, (int)size, f) != NULL;
  fclose(f);
  out[strcspn(out, "\n")] = 0;
  return ok;
}

static int numeric(const char* path) {
  char text[64];
  char* end;
  return read_line(path, text, sizeof text) && text[0] && strtol(text, &end, 10) >= 0 && *end == 0;
}

static int uuid_v4(const char* s) {
  if (strlen(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-') return 0;
  return s[14] == '4';
}

int main(void) {
  struct utsname u;
  CHECK(uname(&u) == 0);
  char ostype[64], release[128];
  CHECK(read_line("/proc/sys/kernel/ostype", ostype, sizeof ostype));
  CHECK(read_line("/proc/sys/kernel/osrelease", release, sizeof release));
  printf("ostype %s, as uname's sysname %d, osrelease as uname's release %d\n", ostype,
         strcmp(ostype, u.sysname) == 0, strcmp(release, u.release) == 0);
  printf("numbers: pid_max %d somaxconn %d nr_open %d overcommit_memory %d\n",
         numeric("/proc/sys/kernel/pid_max"), numeric("/proc/sys/net/core/somaxconn"),
         numeric("/proc/sys/fs/nr_open"), numeric("/proc/sys/vm/overcommit_memory"));
  char a[64], b[64], boot1[64], boot2[64];
  CHECK(read_line("/proc/sys/kernel/random/uuid", a, sizeof a));
  CHECK(read_line("/proc/sys/kernel/random/uuid", b, sizeof b));
  CHECK(read_line("/proc/sys/kernel/random/boot_id", boot1, sizeof boot1));
  CHECK(read_line("/proc/sys/kernel/random/boot_id", boot2, sizeof boot2));
  printf("uuid: v4 %d, new at each read %d; boot_id: v4 %d, the same %d\n", uuid_v4(a) && uuid_v4(b),
         strcmp(a, b) != 0, uuid_v4(boot1), strcmp(boot1, boot2) == 0);
  DIR* dir = opendir("/proc/sys/kernel");
  CHECK(dir != NULL);
  int seen = 0;
  struct dirent* e;
  while ((e = readdir(dir)))
    seen += strcmp(e->d_name, "ostype") == 0 || strcmp(e->d_name, "osrelease") == 0 ||
            strcmp(e->d_name, "random") == 0;
  closedir(dir);
  printf("/proc/sys/kernel lists ostype, osrelease and random: %d\n", seen == 3);
  return 0;
}
