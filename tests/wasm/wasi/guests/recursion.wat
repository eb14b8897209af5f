;; Issue 10: loop-free code that runs for ever. $calls makes 2^(depth+1) calls without a single loop,
;; so only a check at function entry stops it; _start recurses to depth 60 (start_recursion.wat
;; does it in the start function).
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (func $calls (param $depth i32)
    local.get $depth
    i32.eqz
    br_if 0
    local.get $depth
    i32.const 1
    i32.sub
    call $calls
    local.get $depth
    i32.const 1
    i32.sub
    call $calls)
  (func (export "_start")
    i32.const 60
    call $calls
    i32.const 0
    call $proc_exit))
