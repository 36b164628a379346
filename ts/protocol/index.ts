export {
  PROTOCOL_VERSION,
  SIDECAR_ERROR_CODES,
  TASKS,
  isTask,
  type SidecarErrorCode,
  type Task,
} from './version.ts';
export type { ModelArch, ModelCard } from './model-card.ts';
export type * from './ops.ts';
export {
  asFloat32,
  byteLengthOf,
  checked,
  DTYPES,
  float32Tensor,
  ITEMSIZE,
  uint8Tensor,
  type DType,
  type Tensor,
  type TensorSpec,
} from './tensors.ts';
export {
  decodeReply,
  decodeRequest,
  encodeReply,
  encodeRequest,
  messageBytes,
  ProtocolError,
  type Decoded,
  type ErrorReplyHeader,
  type OkReplyHeader,
  type ReplyHeader,
  type RequestHeader,
} from './frames.ts';
