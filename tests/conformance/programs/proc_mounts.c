// /proc/self/mountinfo and /proc/mounts describe the mount table as the process sees it: every
// line has mountinfo's fields, "/" and /proc (type proc) are mount points, ids are unique, every
// mount but the root hangs off a listed one, and /proc/mounts (a link to self/mounts) lists as
// many mounts. Only facts true of any correct kernel are printed (the mounts themselves differ).
#include "conf.h"

#define MAX_MOUNTS 512

int main(void) {
  FILE* f = fopen("/proc/self/mountinfo", "r");
  CHECK(f != NULL);
  static int ids[MAX_MOUNTS], parents[MAX_MOUNTS];
  int count = 0, well_formed = 1, root_listed = 0, proc_listed = 0, root_parent = -1;
  char line[4096];
  while (fgets(line, sizeof line, f) && count < MAX_MOUNTS) {
    char root[1024], point[1024], options[256], type[64], source[1024];
    int id, parent, major, minor, used = 0;
    if (sscanf(line, "%d %d %d:%d %1023s %1023s %255s %n", &id, &parent, &major, &minor, root, point, options,
               &used) != 7) {
      well_formed = 0;
      continue;
    }
    const char* separator = strstr(line + used, "- ");  // after the optional fields
    if (!separator || sscanf(separator, "- %63s %1023s", type, source) != 2) well_formed = 0;
    ids[count] = id, parents[count] = parent;
    if (strcmp(point, "/") == 0) root_listed = 1, root_parent = parent;
    if (strcmp(point, "/proc") == 0 && separator && strcmp(type, "proc") == 0) proc_listed = 1;
    ++count;
  }
  fclose(f);
  int unique = 1, parents_known = 1;
  for (int i = 0; i < count; i++) {
    int parent_found = parents[i] == root_parent;
    for (int j = 0; j < count; j++) {
      if (j != i && ids[j] == ids[i]) unique = 0;
      if (ids[j] == parents[i]) parent_found = 1;
    }
    parents_known &= parent_found;
  }
  printf("mountinfo: some mounts %d, well-formed %d, / listed %d, /proc is proc %d\n", count > 1, well_formed,
         root_listed, proc_listed);
  printf("ids unique %d, every parent listed or the root's %d\n", unique, parents_known);

  char target[64];
  ssize_t n = readlink("/proc/mounts", target, sizeof target - 1);
  target[n > 0 ? n : 0] = 0;
  printf("/proc/mounts -> %s\n", target);
  f = fopen("/proc/mounts", "r");
  CHECK(f != NULL);
  int mounts = 0, root_in_mounts = 0;
  while (fgets(line, sizeof line, f)) {
    char source[1024], point[1024], type[64];
    if (sscanf(line, "%1023s %1023s %63s", source, point, type) == 3) {
      ++mounts;
      root_in_mounts |= strcmp(point, "/") == 0;
    }
  }
  fclose(f);
  printf("/proc/mounts: as many mounts %d, / listed %d\n", mounts == count, root_in_mounts);
  return 0;
}
