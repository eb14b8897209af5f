# mkdir -p of an absolute path (it starts with mkdir("/"), which must be EEXIST), and statfs of a
# path (stat -f).
tmp=$(mktemp -d)
mkdir -p "$tmp/a/b/c" && echo "mkdir -p made it"
mkdir -p / && echo "mkdir -p / is fine"
mkdir -p "$tmp/a/b/c" && echo "mkdir -p of an existing path is fine"
stat -f -c '%l' "$tmp" >/dev/null && echo "statfs of a path works"
rm -rf "$tmp"
