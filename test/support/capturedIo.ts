import type { CommandIo } from '../../services/cli/incidentCommand.ts';

// A command's output kept as text, for a test to read (no colour, no progress redraws).
export function capture(): CommandIo & { stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  return {
    out: (text) => void (out += text),
    err: (text) => void (err += text),
    color: false,
    progressInPlace: false,
    stdout: () => out,
    stderr: () => err,
  };
}
