;; Issue 10: the same 2^61 calls without a loop, in the start function: the run must still end at
;; the timeout (the start function runs during instantiation).
(module
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
  (func $start
    i32.const 60
    call $calls)
  (start $start)
  (func (export "_start")))
