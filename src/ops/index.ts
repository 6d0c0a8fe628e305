export { AdminServer, type AdminStatus } from './admin.js';
export { loadUws } from './uws.js';
