// SMTP: one session per iteration, two messages (one with an attachment), then QUIT. A refused
// recipient fails the step as smtp_550; the server's reply is in the result.
// Run: python3 -m aiosmtpd -n -l 127.0.0.1:8025 (Debian's python3-aiosmtpd, installed by
// scripts/setup-protocols.sh), then salvo run examples/smtp.ts
import { workflow, constantVus, env } from 'salvo';

const smtpUrl = env.string('SMTP_URL', 'smtp://127.0.0.1:8025');

export default workflow('smtp', {
  executor: constantVus({ vus: 2, duration: '5s' }),
  thresholds: { errors: ['rate < 1%'] },
})
  .step('send', async ({ smtp, vu }) => {
    const session = await smtp.connect(smtpUrl, { timeoutMs: 5000 });
    const report = await session.send({
      from: 'load@example.com',
      to: ['ops@example.com'],
      subject: `report from VU ${vu.id}`,
      text: 'The numbers are attached.',
      attachments: [{ filename: 'numbers.csv', content: 'n\n1\n2\n', contentType: 'text/csv' }],
    });
    const note = await session.send({
      from: 'load@example.com',
      to: 'dev@example.com',
      text: 'hi',
    });
    await session.close();
    return {
      accepted: report.accepted.length + note.accepted.length,
      connectMs: session.timings.connectMs,
    };
  })
  .check('send', 'both delivered', (r) => r.accepted === 2);
