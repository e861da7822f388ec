// The console in Debian's Chromium, end to end through the gateway: each flow the issue lists, a hostile message
// shown as text, and no browser console errors. Screenshots of each main page go to test-results/console/ (copies
// in docs/screenshots/ are what the README shows).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Author } from '../../gen/pulse/common/v1/conversation_pb.js';
import { Channel, DeliveryState as S, Priority } from '../../gen/pulse/common/v1/delivery_pb.js';
import { ReviewState } from '../../gen/pulse/common/v1/review_pb.js';
import { mailsOf, notificationWhen, unique } from '../delivery/support.js';
import { until } from '../support/poll.js';
import { type ConsoleRig, startConsoleRig } from './support.js';

const HOSTILE = '<img src=x onerror=alert(1)>';
const FLOW_MS = 120_000;
let c: ConsoleRig;

beforeAll(async () => {
  c = await startConsoleRig();
}, FLOW_MS);

afterAll(() => c?.stop());

describe('the console in a browser', () => {
  it('serves the app with a strict CSP and no CORS from the gateway', async () => {
    const res = await fetch(`${c.gateway.url}/`, { headers: { origin: 'https://evil.example' } });
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(await res.text()).not.toMatch(/<script>(?!<\/script>)|<script(?![^>]*\bsrc=)[^>]*>/); // no inline scripts
  });

  it('a reviewer sees a case opened by an angry message appear live, reads it as text, claims and resolves it', async () => {
    const page = await c.signIn('ann');
    await page.getByRole('heading', { name: 'Review queue' }).waitFor();
    await page.getByText('Live', { exact: true }).waitFor();
    await c.screenshot(page, 'queue-empty');
    const conversationId = unique('conv-angry');
    await c.rig.api.ingestion.submitInteraction({
      messageId: unique('msg'),
      conversationId,
      customerId: 'cust-1',
      agentId: 'agent-7',
      author: Author.CUSTOMER,
      text: `Third time I write. Refund me now or I cancel! ${HOSTILE}`,
    });
    // No reload: the row arrives through WatchReviewCases.
    const row = page.getByRole('row').filter({ hasText: conversationId });
    await row.waitFor({ timeout: 20_000 });
    await row.getByText('refund', { exact: true }).waitFor();
    // The case's notification reaches the reviewers' shared inbox, which the reviewer's badge counts, live too.
    await page.getByTestId('unread-badge').waitFor({ timeout: 20_000 });
    await c.screenshot(page, 'queue');

    await row.getByRole('link', { name: conversationId }).click();
    await page.getByRole('heading', { name: `Conversation ${conversationId}` }).waitFor();
    // The hostile markup is shown as the characters the customer typed, and never becomes an element.
    const message = page.locator('.message-text').first();
    await message.waitFor();
    expect(await message.textContent()).toContain(HOSTILE);
    expect(await page.locator('main img').count()).toBe(0);
    // The words behind its signals are marked (the case's evidence), its sentiment and signals shown with it.
    expect(await message.locator('mark').allTextContents()).toEqual(expect.arrayContaining([expect.stringMatching(/^Refund/), expect.stringMatching(/^cancel/)]));
    await page.locator('.message').first().getByText(/^refund/).waitFor();
    await page.locator('.message .meta').first().getByText(/negative -0\.\d\d/).waitFor();

    await page.getByRole('button', { name: 'Claim this case' }).click();
    await page.getByTestId('case-state').getByText('claimed by ann').waitFor();
    await page.getByLabel('Note (what was done, or why)').fill('refunded, apologised');
    await c.screenshot(page, 'case');
    await page.getByRole('button', { name: 'Resolve' }).click();
    await page.getByTestId('case-state').getByText('resolved').waitFor();
    await page.getByText('refunded, apologised').waitFor(); // the history keeps the note

    const { reviews } = await c.rig.api.review.listReviews({ state: ReviewState.RESOLVED });
    expect(reviews.find((r) => r.conversationId === conversationId)).toMatchObject({ assignee: 'ann' });
    expect(c.problems).toEqual([]);
  }, FLOW_MS);

  it('a user receives an in-app notification live, with an unread badge, and marks it read', async () => {
    const page = await c.signIn('alice');
    await page.getByRole('link', { name: /^Inbox/ }).click();
    await page.getByRole('heading', { name: 'Inbox' }).waitFor();
    const title = `Invoice ${HOSTILE} is overdue`;
    const { notification } = await c.rig.api.notification.sendNotification({
      idempotencyKey: unique('inbox'),
      recipient: { target: { case: 'userId', value: 'alice' } },
      notificationType: 'invoice.overdue',
      priority: Priority.HIGH,
      content: { title, body: 'Please pay by <b>Friday</b>.' },
    });
    const item = page.locator(`[data-notification-id="${notification!.notificationId}"]`);
    await item.waitFor({ timeout: 20_000 });
    expect(await item.getByRole('heading').textContent()).toBe(title);
    expect(await item.locator('img, b').count()).toBe(0);
    await page.getByTestId('unread-badge').getByText('1', { exact: false }).waitFor();
    await c.screenshot(page, 'inbox');

    await item.getByRole('button', { name: /Mark read/ }).click();
    await page.getByTestId('unread-badge').waitFor({ state: 'detached' });
    const read = await until('the delivery to be READ', async () => {
      const { status } = await c.rig.api.status.getStatus({ notificationId: notification!.notificationId });
      return status!.deliveries.find((d) => d.channel === Channel.IN_APP && d.state === S.READ);
    });
    expect(read.userId).toBe('alice');
    expect(c.problems).toEqual([]);
  }, FLOW_MS);

  it('a user sets quiet hours, and an alert routed to them by topic (through a group) is deferred to their end', async () => {
    await c.rig.api.preference.updatePreferences({ preferences: { userId: 'alice', contacts: { email: 'alice@example.com' } }, updateMask: { paths: ['contacts.email'] } });
    const page = await c.signIn('alice');
    await page.getByRole('link', { name: 'My preferences' }).click();
    await page.getByRole('heading', { name: 'My preferences' }).waitFor();
    // Quiet from an hour ago to an hour from now, in UTC.
    const hhmm = (d: Date) => d.toISOString().slice(11, 16);
    const start = hhmm(new Date(Date.now() - 3_600_000));
    const end = hhmm(new Date(Date.now() + 3_600_000));
    await page.getByLabel('Time zone').fill('UTC');
    await page.getByLabel('From').fill(start);
    await page.getByLabel('Until').fill(end);
    await page.getByRole('button', { name: 'Add a notification type' }).click();
    await page.getByLabel('Notification type', { exact: true }).fill('statement.ready');
    const row = page.locator('.type-row');
    await row.getByLabel('email').check();
    await row.getByLabel('in app').uncheck();
    await c.screenshot(page, 'preferences');
    await page.getByRole('button', { name: 'Save preferences' }).click();
    await page.getByText('Saved.').waitFor();

    const { preferences } = await c.rig.api.preference.getPreferences({ userId: 'alice' });
    expect(preferences!.quietHours).toMatchObject({ start, end });
    expect(preferences!.typeChannels).toEqual([expect.objectContaining({ notificationType: 'statement.ready', channels: [Channel.EMAIL] })]);

    // An operator puts Alice in a group and routes the "statements" topic to it, in the console.
    const ops = await c.signIn('ops');
    await ops.getByRole('link', { name: 'Topic routes' }).click();
    await ops.getByLabel('Group name').fill('statement-desk');
    await ops.getByLabel('Members (user ids, separated by commas or spaces; replaces the list)').fill('alice');
    await ops.getByRole('button', { name: 'Save group' }).click();
    await ops.getByText('statement-desk: alice').waitFor();
    await ops.getByLabel('Topic', { exact: true }).fill('statements');
    await ops.getByLabel('Who').selectOption({ label: "a group (each member's preferences apply)" });
    await ops.getByLabel('Group (its name)').fill('statement-desk');
    await ops.getByRole('button', { name: 'Save route' }).click();
    await ops.getByText('primary: group statement-desk').waitFor();
    await c.screenshot(ops, 'routes-groups');

    const { notification } = await c.rig.api.notification.sendNotification({
      idempotencyKey: unique('quiet'),
      recipient: { target: { case: 'topic', value: 'statements' } },
      notificationType: 'statement.ready',
      priority: Priority.MEDIUM,
      content: { title: 'Statements are ready', body: 'Ready.' },
    });
    const deferred = await notificationWhen(c.rig.api, notification!.notificationId, 'the email to be deferred', (n) => n.deliveries[0]?.state === S.DEFERRED && n.deliveries[0]);
    expect(deferred).toMatchObject({ channel: Channel.EMAIL, userId: 'alice' });
    const until_ = deferred.deliverAt!;
    expect(new Date(Number(until_.seconds) * 1000).toISOString().slice(11, 16)).toBe(end);
    expect(c.problems).toEqual([]);
  }, FLOW_MS);

  it('an admin finds a dead letter and replays it, and the email goes out', async () => {
    await c.rig.api.preference.updatePreferences({
      preferences: { userId: 'bob', contacts: { email: 'bob@example.com' }, typeChannels: [{ notificationType: 'report.ready', channels: [Channel.EMAIL] }] },
      updateMask: { paths: ['contacts.email', 'type_channels'] },
    });
    c.rig.smtp.behave('reject-recipient');
    const { notification } = await c.rig.api.notification.sendNotification({
      idempotencyKey: unique('dlq'),
      recipient: { target: { case: 'userId', value: 'bob' } },
      notificationType: 'report.ready',
      priority: Priority.MEDIUM,
      content: { title: 'Your report', body: 'Ready.' },
    });
    const id = notification!.notificationId;
    await notificationWhen(c.rig.api, id, 'the email to fail', (n) => n.deliveries[0]?.state === S.FAILED);
    const letter = await until('the dead letter', async () => (await c.rig.api.notification.listDeadLetters({})).deadLetters.find((d) => d.notificationId === id));
    c.rig.smtp.behave('accept');

    const page = await c.signIn('ops');
    await page.getByRole('link', { name: 'Dead letters' }).click();
    const row = page.locator(`[data-dead-letter-id="${letter.deadLetterId}"]`);
    await row.waitFor();
    await page.getByLabel('Reason contains').fill('recipient rejected');
    await row.getByRole('checkbox').check();
    await c.screenshot(page, 'dead-letters');
    await page.getByRole('button', { name: 'Replay chosen (1)' }).click();
    await page.getByText('1 dead letter scheduled to be sent again.').waitFor();
    await notificationWhen(c.rig.api, id, 'the replayed email to be sent', (n) => n.deliveries[0]?.state === S.SENT);
    expect(mailsOf(c.rig.smtp, id)).toHaveLength(1);

    // The operator's other pages render without errors; each is kept as a screenshot.
    for (const [link, heading, name] of [
      ['Delivery statistics', 'Delivery statistics', 'stats'],
      ['Topic routes', 'Topic routes', 'routes'],
      ['Review policy', 'Review policy', 'policy'],
    ] as const) {
      await page.getByRole('link', { name: link }).click();
      await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
      if (name === 'stats') await page.locator('figure.chart').first().waitFor();
      await c.screenshot(page, name);
    }
    await page.getByRole('link', { name: 'Find a notification' }).click();
    await page.getByLabel('Value').fill(id);
    await page.getByRole('button', { name: 'Find' }).click();
    await page.getByText('via smtp').first().waitFor();
    await c.screenshot(page, 'notification-timeline');
    expect(c.problems).toEqual([]);
  }, FLOW_MS);

  it('an admin edits and previews a template, shown as text; a user subscribes to an alert topic and removes a registered device', async () => {
    const ops = await c.signIn('ops');
    await ops.getByRole('link', { name: 'Templates' }).click();
    await ops.getByRole('heading', { name: 'Templates', level: 1 }).waitFor();
    await ops.getByLabel('Notification type').fill('invoice.overdue');
    await ops.getByLabel('Channel').selectOption({ label: 'email' });
    await ops.getByLabel('Subject').fill('Overdue: {{ title }}');
    await ops.getByLabel(/^Text part/).fill('Hello, {{ body }}');
    await ops.getByLabel(/^HTML part/).fill('<p>{{ body }}</p>');
    await ops.getByLabel('Sample body').fill(HOSTILE);
    await ops.getByRole('button', { name: 'Preview' }).click();
    const preview = ops.getByRole('region', { name: 'Preview' });
    await preview.getByText(`Hello, ${HOSTILE}`).waitFor();
    // The HTML part escaped the sample, and the page shows even that as text: no element came of it.
    await preview.getByText('<p>&lt;img src=x onerror=alert(1)&gt;</p>').waitFor();
    expect(await ops.locator('img').count()).toBe(0);
    await ops.getByRole('button', { name: 'Save as a new version' }).click();
    await ops.getByText('Saved as version 1.').waitFor();
    await c.screenshot(ops, 'templates');
    const { template } = await c.rig.api.notification.getTemplate({ notificationType: 'invoice.overdue', channel: Channel.EMAIL });
    expect(template).toMatchObject({ version: 1, title: 'Overdue: {{ title }}', updatedBy: 'ops' });

    const p256dh = Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 7)]).toString('base64url');
    const { device } = await c.rig.api.preference.registerDevice({
      userId: 'alice',
      device: { label: 'Firefox on laptop', registration: { case: 'webPush', value: { endpoint: 'https://push.example.com/sub/1', p256dh, auth: Buffer.alloc(16, 1).toString('base64url') } } },
    });
    const page = await c.signIn('alice');
    await page.getByRole('link', { name: 'My preferences' }).click();
    const devices = page.getByRole('region', { name: 'My devices for push notifications' });
    await devices.locator('strong', { hasText: 'Firefox on laptop' }).waitFor();
    // Alice subscribes herself to the sales alerts.
    const topics = page.getByRole('region', { name: 'My alert topics' });
    await topics.getByLabel('sales').check();
    await topics.getByRole('button', { name: 'Save alert topics' }).click();
    await topics.getByText('Alert topics saved.').waitFor();
    expect((await c.rig.api.preference.listTopicSubscriptions({ userId: 'alice' })).subscribedTopics).toEqual(['sales']);
    await devices.getByRole('button', { name: 'Remove Firefox on laptop' }).click();
    await devices.getByText('No device is registered for push notifications.').waitFor();
    expect((await c.rig.api.preference.listDevices({ userId: 'alice' })).devices.map((d) => d.deviceId)).not.toContain(device!.deviceId);
    expect(c.problems).toEqual([]);
  }, FLOW_MS);

  it('is usable at phone width and by keyboard', async () => {
    const page = await c.signIn('ann');
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole('heading', { name: 'Review queue' }).waitFor();
    // Tab reaches the skip link first, then the navigation, each with a visible focus outline. (Expressions as
    // strings: the tests compile without the DOM's types.)
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Skip to content');
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Review queue');
    expect(await page.evaluate('getComputedStyle(document.activeElement).outlineStyle')).not.toBe('none');
    await page.getByRole('button', { name: 'All' }).click();
    await page.locator('tr[data-review-id]').first().waitFor();
    await c.screenshot(page, 'queue-phone');
    // The page does not scroll sideways.
    expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth + 1')).toBe(true);
    expect(c.problems).toEqual([]);
  }, FLOW_MS);
});
