export { Acceptor, LocalConnection, failureResponse, type AcceptorOptions, type FrameSink, type InlineHandler, type LocalClient, type WorkerLink } from './acceptor.js';
export { HostLink, transmissionTime, type AnswerHandler, type HostLinkOptions, type LinkFailure, type LinkState } from './host-link.js';
export { HostLinks, parseLinks, type HostGateway, type LinkConfig } from './host-links.js';
export { LinkGauges, type HostLinkView, type LinkGaugeSlot } from './link-gauges.js';
export { ListenError, checkPort } from './listen.js';
export { FIREWALL_DEFAULTS, Firewall, REFUSALS, checkFirewall, type FirewallOptions, type Refusal } from './firewall.js';
export { HttpChannel, MAX_PAYMENT_BODY, type HttpChannelOptions } from './http-channel.js';
export { CLIENT_HEADER, IDEMPOTENCY_HEADER, NONCE_HEADER, PAYMENTS_PATH, SIGNATURE_HEADER, SIGNATURE_WINDOW_MS, TIMESTAMP_HEADER, signRequest } from './signing.js';
export type { PaymentAnswer, PaymentRequest, PaymentType } from './payments.js';
