;; Issue 10: table.grow at run time, 1,000,000 elements at a time until it fails; exits with the
;; number of million-element steps that succeeded. Under --memory 64M that is at most 7 (8 bytes
;; an element), however large the engine's own cap.
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (table $t 0 funcref)
  (func (export "_start") (local $steps i32)
    (block $done
      (loop $grow
        (br_if $done (i32.eq (table.grow $t (ref.null func) (i32.const 1000000)) (i32.const -1)))
        (local.set $steps (i32.add (local.get $steps) (i32.const 1)))
        (br $grow)))
    (call $proc_exit (local.get $steps))))
