;; Issue 10: proc_exit(42) in the start function is the program's exit code, as in _start.
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (func $start
    i32.const 42
    call $proc_exit)
  (start $start)
  (func (export "_start") unreachable))
