// Slack settings. Slack is configured when SLACK_BOT_TOKEN or SLACK_API_URL is present; the token is then required.
// The token is never echoed in a problem.
import type { EnvReader } from '../../platform/config.js';

export interface SlackConfig {
  token: string;
  /** Ends with "/": the SDK appends the method name. */
  apiUrl: string;
  timeoutMs: number;
}

export function readSlackConfig(env: EnvReader): SlackConfig | undefined {
  if (env.string('SLACK_BOT_TOKEN') === undefined && env.string('SLACK_API_URL') === undefined) return undefined;
  const token = env.required('SLACK_BOT_TOKEN', 'the bot token (xoxb-...) Slack messages are posted with');
  if (token !== '' && !/^xoxb-[A-Za-z0-9-]+$/.test(token)) {
    env.invalid('SLACK_BOT_TOKEN', 'must be a Slack bot token (starting with "xoxb-")');
  }
  const apiUrl = `${env.url('SLACK_API_URL', 'https://slack.com/api', ['https', 'http'])}/`;
  const timeoutMs = env.int('SLACK_TIMEOUT_MS', 10_000, { min: 100, max: 600_000 });
  return { token, apiUrl, timeoutMs };
}
