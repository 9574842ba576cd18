import nodemailer, { type Transporter } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import type { Logger } from 'pino';
import type { SendOutcome } from './webhook-sender.js';

/**
 * E-mail over SMTP (nodemailer): one message per recipient, so that nobody sees the others'
 * addresses. The SMTP reply code is the attempt's status code; a 5xx refusal (unknown mailbox,
 * rejected sender) is permanent and given up at once, anything else is retried like a webhook.
 */

export interface SmtpSettings {
  host: string;
  port: number;
  /** TLS from the first byte (465); false: STARTTLS when offered. */
  secure: boolean;
  user?: string | undefined;
  password?: string | undefined;
  from: string;
  /** Connection, greeting and socket time-outs. */
  timeoutMs: number;
}

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  /** Headers such as Punchgate-Event-Id, and a Message-ID that stays the same across attempts. */
  headers?: Record<string, string>;
  messageId?: string;
}

interface SmtpError {
  message?: unknown;
  responseCode?: unknown;
  code?: unknown;
}

export class SmtpSender {
  private readonly transport: Transporter<SMTPTransport.SentMessageInfo>;

  constructor(
    private readonly settings: SmtpSettings,
    private readonly logger: Logger,
  ) {
    this.transport = nodemailer.createTransport({
      host: settings.host,
      port: settings.port,
      secure: settings.secure,
      ...(settings.user !== undefined && settings.password !== undefined ? { auth: { user: settings.user, pass: settings.password } } : {}),
      connectionTimeout: settings.timeoutMs,
      greetingTimeout: settings.timeoutMs,
      socketTimeout: settings.timeoutMs,
    });
  }

  async send(message: MailMessage): Promise<SendOutcome> {
    try {
      const info = await this.transport.sendMail({
        from: this.settings.from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        ...(message.headers ? { headers: message.headers } : {}),
        ...(message.messageId ? { messageId: message.messageId } : {}),
      });
      const code = Number.parseInt(info.response, 10);
      return { ok: true, statusCode: Number.isFinite(code) ? code : null };
    } catch (error) {
      const smtp = (typeof error === 'object' && error !== null ? error : {}) as SmtpError;
      const responseCode = typeof smtp.responseCode === 'number' ? smtp.responseCode : null;
      const text = typeof smtp.message === 'string' ? smtp.message : String(error);
      const outcome: SendOutcome = { ok: false, statusCode: responseCode, error: typeof smtp.code === 'string' ? `${smtp.code}: ${text}` : text };
      if (responseCode !== null && responseCode >= 500) outcome.permanent = true;
      this.logger.debug({ err: error, to: message.to }, 'e-mail not sent');
      return outcome;
    }
  }

  close(): void {
    this.transport.close();
  }
}
