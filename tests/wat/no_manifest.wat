;; The lifecycle exports, but no airssys:manifest custom section.
(component
  
  (core module $m  (func (export "f")))
  (core instance $i (instantiate $m))
  (func $f (canon lift (core func $i "f")))
  (instance $life (export "init" (func $f)) (export "handle-message" (func $f)) (export "handle-request" (func $f)) (export "health" (func $f)) (export "shutdown" (func $f)) (export "snapshot" (func $f)) (export "restore" (func $f)) )
  (export "airssys:core/lifecycle@1.0.0" (instance $life)))
