# trap: a handler for a signal the shell sends itself, EXIT traps, a trapped TERM in a child shell.
trap 'echo "got USR1"' USR1
kill -USR1 $$
echo "after USR1"
sh -c 'trap "echo child got TERM; exit 4" TERM; kill -TERM $$; echo not reached'
echo "child shell status: $?"
sh -c 'trap "echo exit trap runs" EXIT; echo child body; exit 2'
echo "status with exit trap: $?"
sh -c 'kill -TERM $$; echo not reached'
echo "untrapped TERM status: $?"
trap - USR1
trap 'echo "main EXIT trap"' EXIT
echo "end of script"
