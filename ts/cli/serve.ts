import { Command } from 'commander';
import { loadConfig } from '../config/index.ts';
import { isAppError } from '../errors.ts';
import { createLogger } from '../logging.ts';
import { closeOnSignals, serve } from '../main.ts';

const program = new Command('serve')
  .description('Serve the web UI, the Gradio-compatible API and the REST API')
  .option('--config <file>', 'service config (default: $FACEATTR_CONFIG)')
  .option('--port <n>', 'port (overrides server.port / PORT)', Number)
  .option('--host <host>', 'interface (overrides server.host / HOST)')
  .option(
    '--random-model',
    'development: serve an untrained model when none is loaded',
  )
  .parse();
const opts = program.opts<{
  config?: string;
  port?: number;
  host?: string;
  randomModel?: boolean;
}>();

try {
  const config = loadConfig({
    file: opts.config,
    overrides: {
      server: {
        ...(opts.port !== undefined ? { port: opts.port } : {}),
        ...(opts.host ? { host: opts.host } : {}),
      },
    },
  });
  const logger = createLogger({ level: config.log.level });
  const server = await serve({ config, logger, randomModel: opts.randomModel });
  closeOnSignals(server, logger);
} catch (err: unknown) {
  const code = isAppError(err) ? err.code : 'INTERNAL';
  console.error(
    `serve: ${code}: ${err instanceof Error ? err.message : String(err)}`,
  );
  process.exit(1);
}
