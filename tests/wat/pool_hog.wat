;; A component with three memories (three core instances with one each): more than a pool
;; sized for one instance keeps (two memories per instance).
(component
  (core module $m (@custom "airssys:manifest" "{\"name\":\"pool-hog\",\"version\":\"0.1.0\",\"capabilities\":{},\"sdk_version\":\"0.1.0\",\"contract_version\":\"1.0.0\"}") (memory 1) (func (export "f")))
  (core module $n (memory 1))
  (core instance $i (instantiate $m))
  (core instance $a (instantiate $n))
  (core instance $b (instantiate $n))
  (func $f (canon lift (core func $i "f")))
  (instance $life (export "init" (func $f)) (export "handle-message" (func $f)) (export "handle-request" (func $f)) (export "health" (func $f)) (export "shutdown" (func $f)) (export "snapshot" (func $f)) (export "restore" (func $f)))
  (export "airssys:core/lifecycle@1.0.0" (instance $life)))
