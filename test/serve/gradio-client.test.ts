import { solidPng, startTestServer } from './helpers/app.ts';
import { gradioClientSuite } from './helpers/gradio-suite.ts';

gradioClientSuite('the stub pipeline', {
  start: () => startTestServer(),
  face: () => solidPng('#ff3030'),
  otherFace: () => solidPng('#3030ff'),
});
