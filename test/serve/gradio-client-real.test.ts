import { describe, it } from 'vitest';
import { gradioClientSuite } from './helpers/gradio-suite.ts';
import {
  HAVE_FACES,
  NO_FACES_REASON,
  celebaImage,
  startRealServer,
} from './helpers/real-server.ts';

if (HAVE_FACES) {
  gradioClientSuite('the real sidecar', {
    start: () => startRealServer(),
    face: () => celebaImage('000001.jpg'),
    otherFace: () => celebaImage('000003.jpg'),
  });
} else {
  describe('@gradio/client against the real sidecar', () => {
    it.skip(NO_FACES_REASON, () => {});
  });
}
