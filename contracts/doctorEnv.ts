import { z } from 'zod';

// `ledger doctor`'s own settings, read apart from the service's config (contracts/config.ts) so
// that a service configuration doctor finds broken does not stop doctor from reporting it.
const integer = (min: number, max: number, fallback: number) => {
  const error = `must be an integer from ${min} to ${max}`;
  return z.coerce.number({ error }).int({ error }).min(min, { error }).max(max, { error }).default(fallback);
};
const threshold = (max: number, fallback: number) => integer(0, max, fallback);

export const DoctorEnv = z.object({
  LEDGER_URL: z
    .string()
    .refine((value) => URL.canParse(value) && /^https?:$/.test(new URL(value).protocol), { error: 'must be an http(s) URL' })
    // Paths are appended to it: without a trailing slash, as the CLI's serviceUrl gives it.
    .transform((value) => value.replace(/\/+$/, ''))
    .default('http://127.0.0.1:3000'),
  // Read-model lag (age of the oldest event not yet applied) that still counts as healthy.
  LEDGER_DOCTOR_MAX_LAG_SECONDS: threshold(86_400, 60),
  LEDGER_DOCTOR_MAX_PARKED: threshold(1_000_000, 0),
  // A transaction open longer than this holds every reader of the event log back (PostgreSQL).
  LEDGER_DOCTOR_MAX_TRANSACTION_SECONDS: threshold(86_400, 60),
  // How long a statement of doctor's may take before its check fails instead of waiting (a lock
  // held by another session, a server that cannot answer). Short: doctor is run to find out.
  LEDGER_DOCTOR_QUERY_TIMEOUT_SECONDS: integer(1, 3_600, 10),
  // The other environment's `ledger doctor --fingerprints`, inline or in a file.
  LEDGER_PEER_SECRET_FINGERPRINTS: z.string().optional(),
  LEDGER_PEER_FINGERPRINTS_FILE: z.string().optional(),
  KAFKA_BROKERS: z
    .string()
    .optional()
    .transform((raw, ctx) => {
      const brokers = (raw ?? '').split(',').map((b) => b.trim()).filter((b) => b.length > 0);
      brokers.forEach((broker, index) => {
        if (!/^[^\s:/]+:\d{1,5}$/.test(broker)) ctx.addIssue({ code: 'custom', message: `entry ${index + 1} must look like host:port` });
      });
      return brokers;
    }),
});
export type DoctorSettings = z.output<typeof DoctorEnv>;
export const DOCTOR_VARIABLES = Object.keys(DoctorEnv.shape) as (keyof typeof DoctorEnv.shape)[];
