/** The engine logs through this so the CLI, the app's log file and tests can each decide where lines go. */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
}

export const consoleLogger: Logger = {
  info: (m) => console.error(`[tintype] ${m}`),
  warn: (m) => console.error(`[tintype] warning: ${m}`),
};

export const silentLogger: Logger = { info: () => {}, warn: () => {} };
