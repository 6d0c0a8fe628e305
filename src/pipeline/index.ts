export { Pipeline, type PipelineOptions } from './pipeline.js';
export type { WorkerData } from './worker.js';
export { InlinePipeline, type AnswerSink, type InlineOptions } from './inline.js';
