# Sourced by the podman tests (like check.sh): podman with spectrum as its runtime, with its
# storage (vfs: no overlay mounts to depend on), run state and temporary files under a temporary
# folder; cgroupfs (no systemd here) and the file events backend (no journald). The runtime keeps
# its default state folder, /run/spectrum: podman 4.3's cleanup process calls `delete` without the
# --runtime-flag options, so a --root given that way is lost.
#   podman_env NAME [TOOL...]   SKIP (77) without root, podman, conmon or a tool; makes $tmp, sets
#                               the podman=(...) command, $ids_file, run_flags=(...) and the trap
#   podman_import TAR IMAGE [--change ...]   imports a root filesystem tarball as IMAGE
#   podman_run NAME ARGS...     runs $image to completion with run_flags and prints its output;
#                               the container's id goes to $ids_file for the leftover checks
#   podman_check_nothing_left N the leftover checks, and that N containers were seen
# Expects $spectrum and $repo.
podman_env() {
  local name=$1 tool
  shift
  [ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
  command -v podman >/dev/null || { echo "SKIP: podman is not installed (Debian package podman, in scripts/deps.txt)"; exit 77; }
  command -v conmon >/dev/null || [ -x /usr/libexec/podman/conmon ] || { echo "SKIP: podman's conmon is missing"; exit 77; }
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }
  done
  tmp=$(mktemp -d "/tmp/spectrum-$name.XXXXXX")
  podman=(podman --root "$tmp/storage" --runroot "$tmp/run" --tmpdir "$tmp/tmp" --storage-driver vfs
          --cgroup-manager cgroupfs --events-backend file --runtime "$spectrum")
  ids_file=$tmp/ids  # a file: podman_run often runs in a $(...) subshell
  # podman asks for RLIMIT_NOFILE and RLIMIT_NPROC of 1048576, above this host's hard limits (root
  # lacks CAP_SYS_RESOURCE): limits that only lower them.
  run_flags=(--network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
  trap podman_cleanup EXIT
}

podman_cleanup() {
  "${podman[@]}" rm --all --force >/dev/null 2>&1
  grep " $tmp/" /proc/self/mountinfo | cut -d' ' -f5 | sort -r | while read -r m; do umount -l "$m"; done
  rm -rf "$tmp"
}

podman_import() {
  local tar=$1 name=$2
  shift 2
  if ! "${podman[@]}" import "$@" "$tar" "$name" >"$tmp/import.log" 2>&1; then
    cat "$tmp/import.log"
    echo "FAIL: podman import"
    exit 1
  fi
}

podman_run() {
  local name=$1
  shift
  "${podman[@]}" run --name "$name" "${run_flags[@]}" "$image" "$@"
  local status=$?
  "${podman[@]}" inspect "$name" --format '{{.Id}}' >>"$ids_file" 2>/dev/null
  "${podman[@]}" rm "$name" >/dev/null 2>&1
  return $status
}

# Checks that nothing of the containers in $ids_file is left (the runtime's state, their cgroups,
# mounts under the test's folder), and that EXPECTED containers were seen.
podman_check_nothing_left() {
  local expected=$1 id left_state="" left_groups=""
  for id in $(cat "$ids_file"); do
    [ -e "/run/spectrum/$id" ] && left_state="$left_state $id"
    left_groups="$left_groups$(find /sys/fs/cgroup -mindepth 1 -maxdepth 4 -type d -name "*$id*" 2>/dev/null)"
  done
  check "containers seen" "$expected" "$(grep -c -E '^[0-9a-f]{64}$' "$ids_file")"
  check "no runtime state left" "" "$left_state"
  check "no cgroup left" "" "$left_groups"
  check "no mount left" "0" "$(grep -c " $tmp/" /proc/self/mountinfo)"
}
