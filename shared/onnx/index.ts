// Public API of the ONNX toolkit: import from 'shared/onnx/index.ts'.
export * from './attributes.ts';
export * from './builder.ts';
export * from './inspect.ts';
export * from './proto.ts';
export * from './shapes.ts';
export * from './surgery.ts';
export * from './tensor.ts';
export * from './validate.ts';
