import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import path from 'node:path';
const require = createRequire(import.meta.url);
const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')) + '/dist/';
if (process.argv[2] === 'paths') setWasmPaths(dir);
tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
console.log(await tf.setBackend('wasm'), tf.getBackend());
console.log(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'), await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'));
const x = tf.randomNormal([2,5,5,3]); const w = tf.randomNormal([3,3,3,4]);
const g = tf.grads((x: tf.Tensor, w: tf.Tensor) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same').sum());
try { const r = g([x,w]); console.log(r[1].shape); } catch(e) { console.log(String(e).slice(0,300)); }
