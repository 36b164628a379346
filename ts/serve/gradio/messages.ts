/**
 * The sse_v3 messages, shaped as Gradio's server dumps its pydantic models
 * (every field present, nulls included): clients read `msg`, `event_id`,
 * `output`, `success`.
 */
export interface QueueMessage {
  msg: string;
  event_id: string | null;
  [field: string]: unknown;
}

export function estimation(
  eventId: string,
  rank: number,
  queueSize: number,
  rankEta: number | null,
): QueueMessage {
  return {
    msg: 'estimation',
    event_id: eventId,
    rank,
    queue_size: queueSize,
    rank_eta: rankEta,
  };
}

export function processStarts(
  eventId: string,
  eta: number | null,
): QueueMessage {
  return { msg: 'process_starts', event_id: eventId, eta, progress_data: null };
}

export function completedOk(
  eventId: string,
  data: unknown[],
  duration: number,
  averageDuration: number,
): QueueMessage {
  return {
    msg: 'process_completed',
    event_id: eventId,
    output: {
      data,
      is_generating: false,
      duration,
      average_duration: averageDuration,
      render_config: null,
      changed_state_ids: [],
    },
    success: true,
    title: null,
  };
}

export function completedError(eventId: string, error: string): QueueMessage {
  return {
    msg: 'process_completed',
    event_id: eventId,
    output: { error, visible: true, duration: 10, title: 'Error' },
    success: false,
    title: 'Error',
  };
}

export function logMessage(
  eventId: string,
  log: string,
  level: 'info' | 'warning',
): QueueMessage {
  return {
    msg: 'log',
    event_id: eventId,
    log,
    level,
    duration: 10,
    visible: true,
    title: level === 'info' ? 'Info' : 'Warning',
  };
}

export const HEARTBEAT: QueueMessage = Object.freeze({
  msg: 'heartbeat',
  event_id: null,
});

export const CLOSE_STREAM: QueueMessage = Object.freeze({
  msg: 'close_stream',
  event_id: null,
});

export function sessionNotFound(): QueueMessage {
  return {
    msg: 'unexpected_error',
    event_id: null,
    message: 'Session not found.',
    session_not_found: true,
    success: false,
  };
}

export function serverStopped(): QueueMessage {
  return {
    msg: 'unexpected_error',
    event_id: null,
    message: 'Server stopped unexpectedly.',
    success: false,
  };
}

export function isCompletion(m: QueueMessage): boolean {
  return m.msg === 'process_completed';
}
