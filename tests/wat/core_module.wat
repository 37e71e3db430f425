;; A core module, not a component: what `--target wasm32-unknown-unknown` produces.
(module
  (func (export "handle-request")))
