;; Imports an interface this host does not provide.
(component
  (import "acme:secret/vault@1.0.0" (instance (export "open" (func))))
  (core module $m (@custom "airssys:manifest" "{\"name\":\"wat-fixture\",\"version\":\"0.1.0\",\"capabilities\":{},\"sdk_version\":\"0.1.0\",\"contract_version\":\"1.0.0\"}") (func (export "f")))
  (core instance $i (instantiate $m))
  (func $f (canon lift (core func $i "f")))
  (instance $life (export "init" (func $f)) (export "handle-message" (func $f)) (export "handle-request" (func $f)) (export "health" (func $f)) (export "shutdown" (func $f)) (export "snapshot" (func $f)) (export "restore" (func $f)) )
  (export "airssys:core/lifecycle@1.0.0" (instance $life)))
