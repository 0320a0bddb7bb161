// An operator-facing failure: its message says what to do; a stack would only hide it.
export class CliError extends Error {}

// A bad command line: exit 2 with the usage.
export class UsageError extends Error {}
