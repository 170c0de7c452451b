// Node project global setup: nothing shared yet (each suite starts what it needs, e.g. s3rver).
export default function setup(): void {}
