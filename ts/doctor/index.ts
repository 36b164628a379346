export { assertEnvironment, runDoctor, type DoctorOptions } from './check.ts';
export { formatDoctorReport } from './format.ts';
export {
  APT_FIX,
  type CheckStatus,
  type DoctorCheck,
  type DoctorReport,
} from './types.ts';
