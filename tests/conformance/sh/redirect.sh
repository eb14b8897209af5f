# Redirections: > >> < 2>&1, exec on numbered fds, a subshell's exit status, set -e.
tmp=$(mktemp)
echo first > "$tmp"
echo second >> "$tmp"
cat < "$tmp"
ls /no/such/path > /dev/null 2>&1
echo "ls status: $?"
echo to-stderr 1>&2 2>/dev/null
exec 3> "$tmp"
echo via fd 3 >&3
exec 3>&-
exec 4< "$tmp"
read -r line <&4
echo "read back: $line"
(exit 7)
echo "subshell status: $?"
f() { local v=inside; echo "function says $v $1"; return 3; }
f arg
echo "function status: $?"
if sh -c 'set -e; false; echo not reached'; then echo no; else echo "set -e stopped at false"; fi
rm "$tmp"
