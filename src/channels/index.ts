export { Acceptor, failureResponse, type AcceptorOptions, type InlineHandler, type WorkerLink } from './acceptor.js';
export { HostLink, transmissionTime, type AnswerHandler, type HostLinkOptions, type LinkFailure, type LinkState } from './host-link.js';
export { HostLinks, parseLinks, type HostGateway, type LinkConfig } from './host-links.js';
