// The secrets the reliability suite plants (passwords, tokens, a client secret) and the files that hold them.
// None may reach a response or a log line: `Evidence.assertClean` looks for each.
import { TEST_CLIENT_SECRET } from './config-dir.ts';

/** Every secret the suite plants. None may reach a response body, a response header or a log line. */
export const SECRETS = {
  misPassword: 'rel-mis-Pw-5Kq2v',
  blazePassword: 'rel-blaze-Pw-8Zt1',
  /** Short on purpose: a JSON parser's error snippet (10 characters either side) could hold all of it. */
  shortPassword: 'hunt3r2x',
  clientSecret: TEST_CLIENT_SECRET,
  accessToken: 'ya29.rel-access-Tk-3Hq9w',
  refreshToken: '1//rel-refresh-Tk-7Lm2x',
  supervisorToken: 'rel-supervisor-Tk-4Nd8Wq',
} as const;

export const ALL_SECRETS: string[] = Object.values(SECRETS);

/** A token file in the original's shape holding the suite's access and refresh tokens. Its token_uri is a
 *  closed loopback port, so even a refresh attempt could not leave the machine. */
export function realTokenFile(handle: string) {
  return {
    token: SECRETS.accessToken,
    refresh_token: SECRETS.refreshToken,
    token_uri: 'http://127.0.0.1:9/token',
    client_id: `${handle}.apps.googleusercontent.com`,
    client_secret: SECRETS.clientSecret,
    scopes: ['https://www.googleapis.com/auth/spreadsheets'],
    expiry: '2099-01-01T00:00:00',
  };
}

/** A blaze config holding both passwords. */
export function blazeConfigWithSecrets(user: string) {
  return {
    mis_username: user,
    mis_password: SECRETS.misPassword,
    blaze_email: `${user}@blaze.example`,
    blaze_password: SECRETS.blazePassword,
    // a closed loopback port: an automation started by mistake never leaves the machine
    mis_url: 'http://127.0.0.1:9/daily-discount',
  };
}
