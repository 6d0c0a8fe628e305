export { Pipeline, type PipelineOptions } from './pipeline.js';
export { ADMISSION, CLOSE, PENDING, PROCESSING, type Step } from './steps.js';
export type { Services, Settings } from './services.js';
export type { TxnContext } from './context.js';
export type { WorkerData } from './worker.js';
export { InlinePipeline, type AnswerSink, type InlineOptions } from './inline.js';
