import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Sidecar } from '../sidecar/index.ts';

/** Ties the sidecar's lifetime to the server's: closed in onClose. */
async function sidecarLifetime(
  app: FastifyInstance,
  opts: { sidecar: Sidecar },
): Promise<void> {
  const { sidecar } = opts;
  const log = app.log.child({ component: 'sidecar' });
  // An exit while the server closes is the expected end, not a warning.
  let closing = false;
  sidecar.on('exit', (exit) =>
    log[closing ? 'info' : 'warn']({ exit }, 'sidecar exited'),
  );
  sidecar.on('restart', (info) => log.info(info, 'sidecar restart scheduled'));
  sidecar.on('ready', () =>
    log.info({ card: sidecar.card?.name }, 'sidecar ready'),
  );
  app.addHook('onClose', async () => {
    closing = true;
    await sidecar.close();
    log.info({}, 'sidecar closed');
  });
}

export const sidecarPlugin = fp(sidecarLifetime, { name: 'faceattr-sidecar' });
