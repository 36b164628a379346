import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/index.ts';
import { APT_FIX, type DoctorCheck } from './types.ts';

/** What the configured interpreter reported about itself. */
export interface ProbeResult {
  version: string | null;
  versions: Record<string, string | null>;
  cuda: { available: boolean; devices: string[] } | null;
  threads: { before: number; after: number; requested: number } | null;
  checks: DoctorCheck[];
}

/** Python modules the sidecar imports, and where their version lives. */
const MODULES = ['torch', 'torchvision', 'zmq', 'numpy', 'cv2'] as const;

// pythonia proxies are dynamically typed: every attribute is awaitable.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Py = any;
type Import = (module: string) => Promise<Py>;

/**
 * Interrogates the interpreter through pythonia: imports, versions, CUDA,
 * threads, and whether the configured weight and detector files load.
 * Every failure becomes a check; only a bridge failure throws.
 */
export async function probe(
  python: Import,
  config: Config,
  threads: number,
): Promise<ProbeResult> {
  const checks: DoctorCheck[] = [];
  const platform = await python('platform');
  const builtins = await python('builtins');
  const text = async (value: Py) => String(await builtins.str(await value));
  const version = await text(platform.python_version());
  const mods: Partial<Record<(typeof MODULES)[number], Py>> = {};
  const versions: Record<string, string | null> = {};
  for (const name of MODULES) {
    try {
      mods[name] = await python(name);
      versions[name] = await text(mods[name].__version__);
      checks.push({ name, status: 'ok', detail: versions[name]! });
    } catch (err: unknown) {
      versions[name] = null;
      const detail = `cannot import ${name}: ${pythonError(err)}`;
      checks.push({ name, status: 'error', detail, fix: APT_FIX });
    }
  }
  if (mods.zmq) versions.libzmq = await text(mods.zmq.zmq_version());
  const result: ProbeResult = {
    version,
    versions,
    cuda: null,
    threads: null,
    checks,
  };
  if (mods.torch) {
    result.cuda = await cudaOf(mods.torch);
    checks.push(deviceCheck(config, result.cuda));
    result.threads = await threadsOf(mods.torch, threads);
    checks.push(await pretrainedCheck(mods.torch, python, config));
  }
  if (mods.cv2) checks.push(await detectorCheck(mods.cv2, config));
  return result;
}

async function cudaOf(torch: Py) {
  const available = Boolean(await torch.cuda.is_available());
  const count = available ? Number(await torch.cuda.device_count()) : 0;
  const devices: string[] = [];
  for (let i = 0; i < count; i++) {
    devices.push(String(await torch.cuda.get_device_name(i)));
  }
  return { available, devices };
}

function deviceCheck(
  config: Config,
  cuda: { available: boolean; devices: string[] },
): DoctorCheck {
  const { device } = config.sidecar;
  const found = cuda.available ? cuda.devices.join(', ') : 'no CUDA device';
  if (device === 'cuda' && !cuda.available) {
    const fix = 'set FACEATTR_DEVICE=cpu (or auto)';
    return {
      name: 'device',
      status: 'error',
      detail: `cuda requested; ${found}`,
      fix,
    };
  }
  return { name: 'device', status: 'ok', detail: `${device}: ${found}` };
}

async function threadsOf(torch: Py, requested: number) {
  const before = Number(await torch.get_num_threads());
  await torch.set_num_threads(requested);
  const after = Number(await torch.get_num_threads());
  return { before, after, requested };
}

async function pretrainedCheck(
  torch: Py,
  python: Import,
  config: Config,
): Promise<DoctorCheck> {
  const path = config.model.pretrained;
  const fix =
    'set FACEATTR_PRETRAINED to torchvision mobilenet_v2 ImageNet weights';
  if (path === null || !existsSync(path)) {
    const detail = `${path ?? 'none configured'}: fresh models start from random init`;
    return { name: 'pretrained', status: 'warn', detail, fix };
  }
  try {
    const options = { map_location: 'cpu', weights_only: true };
    const state = await torch.load$(path, options);
    const builtins = await python('builtins');
    const tensors = Number(await builtins.len(state));
    return {
      name: 'pretrained',
      status: 'ok',
      detail: `${path} (${tensors} tensors)`,
    };
  } catch (err: unknown) {
    const detail = `${path} does not load: ${pythonError(err)}`;
    return { name: 'pretrained', status: 'warn', detail, fix };
  }
}

async function detectorCheck(cv2: Py, config: Config): Promise<DoctorCheck> {
  const { kind, haarCascade, res10Dir } = config.detector;
  if (kind === 'res10' && res10Dir !== null) {
    const pb = join(res10Dir, 'opencv_face_detector_uint8.pb');
    const pbtxt = join(res10Dir, 'opencv_face_detector.pbtxt');
    const fix = `put ${pb} and ${pbtxt} in place, or set FACEATTR_DETECTOR=haar`;
    if (!existsSync(pb) || !existsSync(pbtxt)) {
      return {
        name: 'detector',
        status: 'error',
        detail: `res10 files missing in ${res10Dir}`,
        fix,
      };
    }
    try {
      const net = await cv2.dnn.readNetFromTensorflow(pb, pbtxt);
      if (!(await net.empty())) {
        return { name: 'detector', status: 'ok', detail: `res10: ${res10Dir}` };
      }
    } catch (err: unknown) {
      return {
        name: 'detector',
        status: 'error',
        detail: pythonError(err),
        fix,
      };
    }
    return {
      name: 'detector',
      status: 'error',
      detail: `res10 net is empty`,
      fix,
    };
  }
  if (!existsSync(haarCascade)) {
    const detail = `haar cascade ${haarCascade} not found`;
    return { name: 'detector', status: 'error', detail, fix: APT_FIX };
  }
  const cascade = await cv2.CascadeClassifier(haarCascade);
  if (await cascade.empty()) {
    const detail = `haar cascade ${haarCascade} does not load`;
    return { name: 'detector', status: 'error', detail, fix: APT_FIX };
  }
  return { name: 'detector', status: 'ok', detail: `haar: ${haarCascade}` };
}

/** The Python error line of a pythonia exception (its message is empty). */
export function pythonError(err: unknown): string {
  const text =
    err instanceof Error ? `${err.message}\n${err.stack ?? ''}` : String(err);
  // eslint-disable-next-line no-control-regex
  const plain = text.replace(/\u001b\[[0-9;]*m/g, '');
  const lines = plain.split('\n').map((l) => l.trim());
  const last = lines.filter((l) => /^(🌉|\*\*\* JS \*\*\*)/u.test(l)).pop();
  const named = lines
    .filter((l) => /^[A-Za-z_.]*(Error|Exception)\b/.test(l))
    .pop();
  return (
    last?.replace(/^(🌉|\*\*\* JS \*\*\*)\s*/u, '') ??
    named ??
    lines[0]
  ).trim();
}
