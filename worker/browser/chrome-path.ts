import fs from 'node:fs';

const CANDIDATES = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
  '/opt/google/chrome/chrome',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
  '/Applications/Chromium.app/Contents/MacOS/Chromium',
];

/** `CHROME_PATH`, else the first system Chrome/Chromium found; nothing is ever downloaded. */
export function findChrome(configured: string | undefined): string | null {
  if (configured) return isExecutable(configured) ? configured : null;
  return CANDIDATES.find(isExecutable) ?? null;
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** What Chrome may see of the worker's environment: where things are (PATH, HOME, the temp and XDG dirs),
 *  the language and time zone, the display and the session bus. Never a secret: every other variable stays
 *  behind, whatever it is called. */
const CHROME_VARIABLES = /^(PATH|HOME|USER|LOGNAME|SHELL|LANG|LANGUAGE|LC_[A-Z]+|TZ|TMPDIR|DISPLAY|WAYLAND_DISPLAY|XAUTHORITY|XDG_[A-Z_]+|FONTCONFIG_[A-Z_]+|DBUS_SESSION_BUS_ADDRESS)$/;

export function chromeEnvironment(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => CHROME_VARIABLES.test(entry[0]) && entry[1] !== undefined));
}
