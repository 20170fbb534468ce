// Public surface of the SMTP client.
export {
  SmtpClient,
  SmtpSession,
  SmtpSent,
  smtpKind,
  smtpErrorKind,
  parseSmtpUrl,
  MAX_SMTP_SESSIONS,
  MAX_SMTP_MESSAGE_BYTES,
} from './client.js';
export type {
  SmtpMessage,
  SmtpAttachment,
  SmtpConnectOptions,
  SmtpSessionTimings,
} from './client.js';
