// Public surface of the security module. The switch uses SecurityModule + KeyHandle; the DES and
// MAC primitives and the terminal helpers are here for the terminal side (load generator, tests).

export { DesKey } from './des.js';
export { SecurityError, PinFormatError, type SecurityErrorCode, type PinFormatReason } from './errors.js';
export { isKeyMode, kcv, parseKeyBlock, type EncryptedKey, type KeyBlock, type KeyMode } from './keys.js';
export { loadLmk, Lmk, type LmkSource } from './lmk.js';
export { computeMac, cupEcbMac, MAC_LENGTH, x919Mac, x99Mac, type MacAlgorithm } from './mac.js';
export {
  KeyHandle,
  PIN_VERIFIER_LENGTH,
  SecurityModule,
  type KeyRef,
  type PinCheck,
  type WorkingKeys,
} from './module.js';
export { buildPinBlock, parsePinBlock } from './pinblock.js';
export {
  decryptWorkingKey,
  encryptPinBlock,
  encryptTrack,
  openKeyBlock,
  type ClearKey,
  type ClearWorkingKeys,
} from './terminal.js';
export { finishLmkRotation, lmkFileOf, previousLmkFileOf, startLmkRotation } from './lmk.js';
export { KeyRewrap, LmkCustodian, LmkGeneration, type RotationParties, type RotationResult } from './rotation.js';
export { componentCheckValue, componentsProblem, keyFromComponents, type ComponentKey, type Components } from './components.js';
