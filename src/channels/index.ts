export { Acceptor, failureResponse, type AcceptorOptions, type WorkerLink } from './acceptor.js';
