import { isolateTmp } from '../tmp-root.ts';

// Node project global setup: every temp directory of the run under one root, removed at the end
// (each suite starts the servers it needs itself, e.g. s3rver).
export default function setup(): () => void {
  return isolateTmp();
}
