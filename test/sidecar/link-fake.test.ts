import { SidecarSupervisor } from '../../ts/sidecar/index.ts';
import { fakeCommand, testConfig } from '../fixtures/backends.ts';
import { describeLink } from './link-suite.ts';

describeLink('the fake sidecar process', {
  size: 32,
  async start() {
    const sc = new SidecarSupervisor(testConfig(), { command: fakeCommand() });
    await sc.start();
    return sc;
  },
  slow: (sc, call) => sc.hello({ sleep_ms: 400 }, call),
});
