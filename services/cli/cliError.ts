// An operator-facing failure: its message says what to do; a stack would only hide it.
export class CliError extends Error {}
