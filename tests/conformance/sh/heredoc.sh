# Here-documents: expansion, a quoted delimiter keeps text literal, <<- strips tabs, into a loop.
name=world
cat <<EOF
hello $name
sum: $((2 + 3))
EOF
cat <<'EOF'
literal $name $(not run)
EOF
cat <<-EOF
	tab-indented line
	EOF
n=0
while read -r a b; do
  n=$((n + a * b))
done <<EOF
1 2
3 4
5 6
EOF
echo "products sum to $n"
wc -l <<EOF
$(seq 1 2000)
EOF
