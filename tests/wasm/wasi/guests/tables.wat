;; Issue 10: 20 tables of 10,000,000 funcrefs each (1.6 GB of host memory) in a module of under
;; 200 bytes. Under --memory 64M it must end as out of memory, the host's peak well below 64 MiB.
(module
  (memory (export "memory") 1)
  (table 10000000 funcref) (table 10000000 funcref) (table 10000000 funcref) (table 10000000 funcref)
  (table 10000000 funcref) (table 10000000 funcref) (table 10000000 funcref) (table 10000000 funcref)
  (table 10000000 funcref) (table 10000000 funcref) (table 10000000 funcref) (table 10000000 funcref)
  (table 10000000 funcref) (table 10000000 funcref) (table 10000000 funcref) (table 10000000 funcref)
  (table 10000000 funcref) (table 10000000 funcref) (table 10000000 funcref) (table 10000000 funcref)
  (func (export "_start")))
