# Command substitution: $(...), nested, backticks, trailing newlines removed, the exit status kept.
upper=$(echo hello | tr a-z A-Z)
echo "upper: $upper"
echo "nested: $(echo outer $(echo inner))"
echo "backticks: `echo old style`"
lines=$(printf 'a\nb\n\n\n')
echo "trailing newlines removed: [$lines]"
x=$(exit 5)
echo "status of a substitution: $?"
count=$(seq 1 1000 | wc -l)
echo "arithmetic on it: $((count * 2))"
for word in $(echo one two three); do printf '%s,' "$word"; done
echo
