import { gradioClientSuite } from './helpers/gradio-suite.ts';
import {
  FACE_SOURCE,
  startRealServer,
  testFaces,
} from './helpers/real-server.ts';

gradioClientSuite(`the real sidecar (${FACE_SOURCE})`, {
  start: () => startRealServer(),
  face: async () => (await testFaces())[0],
  otherFace: async () => (await testFaces())[1],
});
