export { Acceptor, failureResponse, type AcceptorOptions, type InlineHandler, type WorkerLink } from './acceptor.js';
