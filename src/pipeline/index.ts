export { Pipeline, type PipelineOptions } from './pipeline.js';
export type { WorkerData } from './worker.js';
