// Public surface of the FTP client.
export {
  FtpClient,
  FtpSession,
  FtpTransfer,
  FtpDownload,
  ftpKind,
  ftpErrorKind,
  parseFtpUrl,
  MAX_FTP_SESSIONS,
  MAX_FTP_DOWNLOAD_BYTES,
} from './client.js';
export type { FtpConnectOptions } from './client.js';
