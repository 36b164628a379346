import { existsSync } from 'node:fs';
import { describe, it } from 'vitest';
import { DEFAULTS, resolveFromRoot } from '../../ts/config/index.ts';
import { SidecarSupervisor } from '../../ts/sidecar/index.ts';
import { pythonSidecarMissing, testConfig } from '../fixtures/backends.ts';
import { describeLink } from './link-suite.ts';

const missing = pythonSidecarMissing();
// The ImageNet trunk makes logits depend on the image; random init barely does.
const pretrained = resolveFromRoot(DEFAULTS.model.pretrained);
const SIZE = 32;

if (missing) {
  describe('the sidecar link over the Python sidecar', () => {
    it.skip(`skipped: ${missing}`, () => {});
  });
} else {
  describeLink('the Python sidecar', {
    size: SIZE,
    async start() {
      const sc = new SidecarSupervisor(testConfig());
      await sc.start();
      await sc.loadModel({
        arch: {
          backbone: 'mobilenet_v2',
          output_stride: 16,
          adapter_channels: 128,
        },
        input_size: SIZE,
        pretrained: pretrained && existsSync(pretrained) ? pretrained : null,
      });
      return sc;
    },
    slow: (sc, call) => sc.hello({ sleep_ms: 400 }, call),
  });
}
