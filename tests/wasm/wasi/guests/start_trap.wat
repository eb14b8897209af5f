;; Issue 10: a trap in the start function is the program's trap (SIGILL for unreachable).
(module
  (memory (export "memory") 1)
  (func $start unreachable)
  (start $start)
  (func (export "_start")))
