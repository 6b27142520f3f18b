# Call counts per function from a callgrind.out file written with --compress-strings=no: the sum of
# the calls= lines naming it as cfn=, over every caller. Prints "calls<TAB>name" for the functions
# whose source file (fl= before their fn=) matches the variable `file`. Callgrind names the inner
# levels of a recursion name'2, name'3...: they are the same function.
function base(name) { sub(/'[0-9]+$/, "", name); return name }
/^fl=/  { current_file = substr($0, 4) }
/^fn=/  { function_file[base(substr($0, 4))] = current_file }
/^cfn=/ { callee = base(substr($0, 5)) }
/^calls=/ { split(substr($0, 7), fields, " "); calls[callee] += fields[1] }
END {
    for (name in calls)
        if (function_file[name] ~ file) printf "%d\t%s\n", calls[name], name
}
