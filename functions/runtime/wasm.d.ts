// wrangler (CompiledWasm rule) and vitest-pool-workers deliver `.wasm` imports as compiled modules.
declare module '*.wasm' {
  const module: WebAssembly.Module;
  export default module;
}
