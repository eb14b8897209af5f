#include "container/rootfs.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdint>

#include "container/try.h"
#include "core/confined_path.h"

namespace spectrum::container {
namespace {

// The uapi layout mount_setattr reads, and the attribute bits taken from it.
static_assert(sizeof(mount_attr) == MOUNT_ATTR_SIZE_VER0 && MOUNT_ATTR_SIZE_VER0 == 32);
static_assert(MOUNT_ATTR_RDONLY == 0x1 && MOUNT_ATTR_NOSUID == 0x2 && MOUNT_ATTR_NODEV == 0x4 &&
              MOUNT_ATTR_NOEXEC == 0x8 && MOUNT_ATTR__ATIME == 0x70 && MOUNT_ATTR_NOATIME == 0x10 &&
              MOUNT_ATTR_STRICTATIME == 0x20 && MOUNT_ATTR_NODIRATIME == 0x80);
static_assert(OPEN_TREE_CLONE == 1 && MOVE_MOUNT_F_EMPTY_PATH == 0x4 && MOVE_MOUNT_T_EMPTY_PATH == 0x40);

struct Attributes {
  std::uint64_t set = 0, clear = 0;
  explicit operator bool() const { return set || clear; }
};

// MS_* per-mount flags as mount_setattr takes them (superblock flags such as sync stay out).
Attributes attributes_of(unsigned long set, unsigned long clear) {
  Attributes a;
  static constexpr std::pair<unsigned long, std::uint64_t> kMap[] = {{MS_RDONLY, MOUNT_ATTR_RDONLY},
                                                                     {MS_NOSUID, MOUNT_ATTR_NOSUID},
                                                                     {MS_NODEV, MOUNT_ATTR_NODEV},
                                                                     {MS_NOEXEC, MOUNT_ATTR_NOEXEC},
                                                                     {MS_NODIRATIME, MOUNT_ATTR_NODIRATIME}};
  for (auto [ms, attr] : kMap) {
    if (set & ms) a.set |= attr;
    if (clear & ms) a.clear |= attr;
  }
  // The atime policy is one field: naming one replaces the other two.
  if (set & (MS_NOATIME | MS_STRICTATIME | MS_RELATIME)) {
    a.clear |= MOUNT_ATTR__ATIME;
    a.set |= (set & MS_NOATIME) ? MOUNT_ATTR_NOATIME : (set & MS_STRICTATIME) ? MOUNT_ATTR_STRICTATIME : 0;
  }
  return a;
}

Result<void> set_attributes(int mount_fd, Attributes a, bool recursive, const std::string& what) {
  if (!a) return {};
  mount_attr attr{};
  attr.attr_set = a.set;
  attr.attr_clr = a.clear;
  if (::mount_setattr(mount_fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr, sizeof attr) != 0)
    return fail_errno("set the options of " + what);
  return {};
}

Result<void> set_propagation(int mount_fd, unsigned long propagation, const std::string& what) {
  if (!propagation) return {};
  mount_attr attr{};
  attr.propagation = propagation & ~static_cast<unsigned long>(MS_REC);
  if (::mount_setattr(mount_fd, "", AT_EMPTY_PATH | ((propagation & MS_REC) ? AT_RECURSIVE : 0), &attr,
                      sizeof attr) != 0)
    return fail_errno("set the propagation of " + what);
  return {};
}

// A detached copy of the mount tree at `fd` (a bind mount not yet attached anywhere).
Result<UniqueFd> clone_tree(int fd, bool recursive, const std::string& what) {
  UniqueFd tree(::open_tree(
      fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0)));
  if (!tree) return fail_errno("bind " + what);
  return tree;
}

Result<void> attach(int tree_fd, int dest_fd, const std::string& what) {
  if (::move_mount(tree_fd, "", dest_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0)
    return fail_errno("mount on " + what);
  return {};
}

// A new tmpfs as a detached mount (fsopen/fsmount: no path on either side).
Result<UniqueFd> new_tmpfs(const char* mode, std::uint64_t attributes) {
  UniqueFd fs(::fsopen("tmpfs", FSOPEN_CLOEXEC));
  if (!fs) return fail_errno("fsopen tmpfs");
  if (::fsconfig(fs.get(), FSCONFIG_SET_STRING, "mode", mode, 0) != 0 ||
      ::fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0)
    return fail_errno("create a tmpfs");
  UniqueFd mnt(::fsmount(fs.get(), FSMOUNT_CLOEXEC, static_cast<unsigned>(attributes)));
  if (!mnt) return fail_errno("fsmount tmpfs");
  return mnt;
}

// The mount point of the mount holding `path` (the longest mount point that is a prefix of it).
std::string mount_point_of(const std::string& path) {
  auto mountinfo = read_file("/proc/self/mountinfo");
  std::string best = "/";
  if (!mountinfo) return best;
  std::size_t pos = 0;
  while (pos < mountinfo->size()) {
    std::size_t end = mountinfo->find('\n', pos);
    if (end == std::string::npos) end = mountinfo->size();
    std::string_view line(mountinfo->data() + pos, end - pos);
    pos = end + 1;
    std::size_t field = 0;
    for (int i = 0; i < 4 && field != std::string_view::npos; ++i)
      field = line.find(' ', field + (i ? 1 : 0));
    if (field == std::string_view::npos) continue;
    std::string_view escaped = line.substr(field + 1, line.find(' ', field + 1) - field - 1);
    std::string point;  // mountinfo escapes space, tab, newline and backslash as \ooo
    for (std::size_t i = 0; i < escaped.size(); ++i) {
      if (escaped[i] == '\\' && i + 3 < escaped.size()) {
        point += static_cast<char>((escaped[i + 1] - '0') * 64 + (escaped[i + 2] - '0') * 8 +
                                   (escaped[i + 3] - '0'));
        i += 3;
      } else {
        point += escaped[i];
      }
    }
    bool prefix = point == "/" || path == point || path.starts_with(point + "/");
    if (prefix && point.size() > best.size()) best = point;
  }
  return best;
}

class RootfsBuilder {
 public:
  RootfsBuilder(const Config& config, const Cgroup& cgroup, int root_fd)
      : c_(config), cgroups_(cgroup.dirs()), root_(root_fd) {}

  Result<void> mount_one(const MountEntry& m, std::size_t index);
  Result<void> create_devices();

 private:
  Result<void> bind(const MountEntry& m, const std::string& field);
  Result<void> mount_cgroup(const MountEntry& m, int dest, const std::string& field);

  const Config& c_;
  const std::map<std::string, std::string>& cgroups_;  // controller ("" on v2) -> directory
  int root_;
};

Result<void> RootfsBuilder::bind(const MountEntry& m, const std::string& field) {
  // The source is opened once; what was checked (its type) is what gets mounted.
  UniqueFd source(::open(m.source.c_str(), O_PATH | O_CLOEXEC));
  if (!source) return fail_errno(field + ".source: " + m.source);
  struct stat st {};
  if (::fstat(source.get(), &st) != 0) return fail_errno(field + ".source: " + m.source);
  UniqueFd dest = SPECTRUM_TRY(with_context(
      open_in_root(root_, m.destination, S_ISDIR(st.st_mode) ? Missing::directory : Missing::file),
      field + ".destination"));
  UniqueFd tree = SPECTRUM_TRY(with_context(clone_tree(source.get(), m.flags & MS_REC, m.source), field));
  // Recursive options (rro, ...) first, then those of the top mount, all before it is attached.
  SPECTRUM_TRY(with_context(
      set_attributes(tree.get(), attributes_of(m.recursive_flags, m.recursive_clear), true, m.destination),
      field));
  SPECTRUM_TRY(with_context(
      set_attributes(tree.get(), attributes_of(m.flags & ~(MS_BIND | MS_REC | MS_REMOUNT), m.clear_flags),
                     false, m.destination),
      field));
  SPECTRUM_TRY(with_context(attach(tree.get(), dest.get(), m.destination), field));
  return with_context(set_propagation(tree.get(), m.propagation, m.destination), field);
}

Result<void> RootfsBuilder::mount_cgroup(const MountEntry& m, int dest, const std::string& field) {
  Attributes options = attributes_of(m.flags & ~(MS_BIND | MS_REC), m.clear_flags);
  // v2: the container's group directory bound at the destination.
  if (cgroups_.size() == 1 && cgroups_.begin()->first.empty()) {
    const std::string& dir = cgroups_.begin()->second;
    UniqueFd source(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!source) return fail_errno(field + ": cgroup " + dir);
    UniqueFd tree = SPECTRUM_TRY(clone_tree(source.get(), true, "cgroup " + dir));
    SPECTRUM_TRY(set_attributes(tree.get(), options, false, m.destination));
    return attach(tree.get(), dest, m.destination);
  }
  // v1: a tmpfs with one bind of the container's own group per hierarchy, read-only as asked.
  UniqueFd tmpfs = SPECTRUM_TRY(new_tmpfs("755", MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC));
  SPECTRUM_TRY(attach(tmpfs.get(), dest, m.destination));
  for (const auto& [controller, dir] : cgroups_) {
    // A fresh tmpfs that no container process has seen yet: its names are ours.
    if (::mkdirat(tmpfs.get(), controller.c_str(), 0755) != 0 && errno != EEXIST)
      return fail_errno(field + ": mkdir " + m.destination + "/" + controller);
    UniqueFd point(::openat(tmpfs.get(), controller.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    UniqueFd source(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!point || !source) return fail_errno(field + ": cgroup " + dir);
    UniqueFd tree = SPECTRUM_TRY(clone_tree(source.get(), false, "cgroup " + dir));
    SPECTRUM_TRY(set_attributes(tree.get(), options, false, m.destination + "/" + controller));
    SPECTRUM_TRY(attach(tree.get(), point.get(), m.destination + "/" + controller));
  }
  if (m.flags & MS_RDONLY)
    SPECTRUM_TRY(set_attributes(tmpfs.get(), {MOUNT_ATTR_RDONLY, 0}, false, m.destination));
  return {};
}

Result<void> RootfsBuilder::mount_one(const MountEntry& m, std::size_t index) {
  std::string field = "mounts[" + std::to_string(index) + "]";
  if (m.bind) return bind(m, field);
  UniqueFd dest = SPECTRUM_TRY(
      with_context(open_in_root(root_, m.destination, Missing::directory), field + ".destination"));
  if (m.type == "cgroup" || m.type == "cgroup2")
    return with_context(mount_cgroup(m, dest.get(), field), field);
  // A new filesystem on the fd's magic link: the kernel mounts on exactly what was resolved.
  const char* data = m.data.empty() ? nullptr : m.data.c_str();
  if (::mount(m.source.empty() ? m.type.c_str() : m.source.c_str(), fd_path(dest.get()).c_str(),
              m.type.c_str(), m.flags & ~static_cast<unsigned long>(MS_REMOUNT), data) != 0)
    return fail_errno(field + ": mount " + m.type + " on " + m.destination +
                      (m.data.empty() ? "" : " (" + m.data + ")"));
  if (!m.propagation) return {};
  // The new mount's root, looked up again inside the root; mount_setattr refuses anything that is
  // not a mount's root, so a swap meanwhile fails rather than changing another mount.
  UniqueFd top = SPECTRUM_TRY(with_context(open_in_root(root_, m.destination), field));
  return with_context(set_propagation(top.get(), m.propagation, m.destination), field);
}

struct DefaultDevice {
  const char* name;
  unsigned major, minor;
};
constexpr DefaultDevice kDefaultDevices[] = {{"null", 1, 3},   {"zero", 1, 5},    {"full", 1, 7},
                                             {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};

Result<void> RootfsBuilder::create_devices() {
  bool in_user_ns = c_.find_namespace(NamespaceKind::user) != nullptr;
  auto make_node = [&](const std::string& path, char type, unsigned major, unsigned minor, mode_t mode,
                       uid_t uid, gid_t gid, const std::string& field) -> Result<void> {
    if (in_user_ns) {
      // mknod is not allowed in a user namespace: bind the host's node instead.
      UniqueFd dest = SPECTRUM_TRY(with_context(open_in_root(root_, path, Missing::file), field));
      UniqueFd host(::open(path.c_str(), O_PATH | O_CLOEXEC));
      if (!host) return fail_errno(field + ": " + path);
      UniqueFd tree = SPECTRUM_TRY(with_context(clone_tree(host.get(), false, path), field));
      return with_context(attach(tree.get(), dest.get(), path), field);
    }
    ParentAndName at = SPECTRUM_TRY(with_context(open_parent_in_root(root_, path, true), field));
    mode_t kind = type == 'b' ? S_IFBLK : type == 'p' ? S_IFIFO : S_IFCHR;
    if (::unlinkat(at.parent.get(), at.name.c_str(), 0) != 0 && errno != ENOENT)
      return fail_errno(field + ": replace " + path);
    if (::mknodat(at.parent.get(), at.name.c_str(), kind | (mode & 07777), makedev(major, minor)) != 0)
      return fail_errno(field + ": mknod " + path);
    UniqueFd node(::openat(at.parent.get(), at.name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    struct stat st {};
    if (!node || ::fstat(node.get(), &st) != 0 || (st.st_mode & S_IFMT) != kind)
      return fail(field + ": " + path + " changed while it was made");
    // chmod through the fd's magic link (fchmod refuses O_PATH fds), chown through the fd itself.
    if (::chmod(fd_path(node.get()).c_str(), mode & 07777) != 0) return fail_errno(field + ": chmod " + path);
    if (::fchownat(node.get(), "", uid, gid, AT_EMPTY_PATH) != 0)
      return fail_errno(field + ": chown " + path);
    return {};
  };
  for (const DefaultDevice& d : kDefaultDevices)
    SPECTRUM_TRY(
        make_node(std::string("/dev/") + d.name, 'c', d.major, d.minor, 0666, 0, 0, "default device"));
  for (std::size_t i = 0; i < c_.devices.size(); ++i) {
    const Device& d = c_.devices[i];
    SPECTRUM_TRY(make_node(d.path, d.type, static_cast<unsigned>(d.major), static_cast<unsigned>(d.minor),
                           d.file_mode, d.uid, d.gid, "linux.devices[" + std::to_string(i) + "]"));
  }
  UniqueFd dev = SPECTRUM_TRY(with_context(open_in_root(root_, "/dev", Missing::directory), "/dev"));
  static constexpr std::pair<const char*, const char*> kLinks[] = {{"/proc/self/fd", "fd"},
                                                                   {"/proc/self/fd/0", "stdin"},
                                                                   {"/proc/self/fd/1", "stdout"},
                                                                   {"/proc/self/fd/2", "stderr"}};
  for (auto [target, name] : kLinks) (void)::symlinkat(target, dev.get(), name);
  if (open_in_root(root_, "/dev/pts/ptmx")) {
    ::unlinkat(dev.get(), "ptmx", 0);
    (void)::symlinkat("pts/ptmx", dev.get(), "ptmx");
  }
  return {};
}

}  // namespace

Result<UniqueFd> build_rootfs(const Config& config, const Cgroup& cgroup, const std::string& root) {
  unsigned long propagation = config.rootfs_propagation ? config.rootfs_propagation : MS_SLAVE | MS_REC;
  if (::mount(nullptr, "/", nullptr, propagation, nullptr) != 0)
    return fail_errno("linux.rootfsPropagation: set the propagation of /");
  // With "/" shared (rootfsPropagation "shared" on a host whose / is rshared), the root's bind and
  // every mount below it would propagate back into the caller's namespace, and pivot_root would
  // refuse a shared parent: the parent of the root is made private first, as runc does.
  std::string parent = mount_point_of(root);
  if (::mount(nullptr, parent.c_str(), nullptr, MS_PRIVATE, nullptr) != 0)
    return fail_errno("make the mount " + parent + " holding root.path private");
  UniqueFd root_dir(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root_dir) return fail_errno("root.path: " + root);
  UniqueFd root_mount = SPECTRUM_TRY(with_context(clone_tree(root_dir.get(), true, root), "root.path"));
  SPECTRUM_TRY(with_context(attach(root_mount.get(), root_dir.get(), root), "root.path"));
  RootfsBuilder builder(config, cgroup, root_mount.get());
  for (std::size_t i = 0; i < config.mounts.size(); ++i) SPECTRUM_TRY(builder.mount_one(config.mounts[i], i));
  SPECTRUM_TRY(builder.create_devices());
  return root_mount;
}

Result<void> pivot_into(int root_fd) {
  if (::fchdir(root_fd) != 0) return fail_errno("root.path: chdir");
  // pivot_root(".", ".") stacks the old root on top of the new one; unmounting it leaves the new.
  if (::syscall(SYS_pivot_root, ".", ".") != 0) return fail_errno("pivot_root");
  if (::mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) != 0)
    return fail_errno("make the old root a slave");
  if (::umount2(".", MNT_DETACH) != 0) return fail_errno("detach the old root");
  if (::chdir("/") != 0) return fail_errno("chdir /");
  return {};
}

Result<void> mask_and_protect_paths(const Config& c) {
  UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return fail_errno("open /");
  for (std::size_t i = 0; i < c.masked_paths.size(); ++i) {
    const std::string& path = c.masked_paths[i];
    std::string field = "linux.maskedPaths[" + std::to_string(i) + "]";
    auto target = open_in_root(root.get(), path);
    if (!target && (target.error().sys_errno() == ENOENT || target.error().sys_errno() == ENOTDIR))
      continue;  // nothing to hide
    if (!target) return std::unexpected(target.error().wrap(field));
    struct stat st {};
    if (::fstat(target->get(), &st) != 0) return fail_errno(field + ": " + path);
    UniqueFd cover;
    if (S_ISDIR(st.st_mode)) {
      cover = SPECTRUM_TRY(with_context(new_tmpfs("0", MOUNT_ATTR_RDONLY), field));
    } else {
      UniqueFd null(::open("/dev/null", O_PATH | O_CLOEXEC));
      if (!null) return fail_errno(field + ": /dev/null");
      cover = SPECTRUM_TRY(with_context(clone_tree(null.get(), false, "/dev/null"), field));
    }
    SPECTRUM_TRY(with_context(attach(cover.get(), target->get(), path), field));
  }
  for (std::size_t i = 0; i < c.readonly_paths.size(); ++i) {
    const std::string& path = c.readonly_paths[i];
    std::string field = "linux.readonlyPaths[" + std::to_string(i) + "]";
    auto target = open_in_root(root.get(), path);
    if (!target && (target.error().sys_errno() == ENOENT || target.error().sys_errno() == ENOTDIR)) continue;
    if (!target) return std::unexpected(target.error().wrap(field));
    UniqueFd tree = SPECTRUM_TRY(with_context(clone_tree(target->get(), true, path), field));
    SPECTRUM_TRY(with_context(
        set_attributes(tree.get(),
                       {MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, 0},
                       true, path),
        field));
    SPECTRUM_TRY(with_context(attach(tree.get(), target->get(), path), field));
  }
  if (c.root_readonly && ::mount(nullptr, "/", nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) != 0)
    return fail_errno("root.readonly: remount / read-only");
  return {};
}

}  // namespace spectrum::container
