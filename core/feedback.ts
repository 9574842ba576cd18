import { z } from 'zod';

/** What a person is told after a tap. Every reader and screen maps these to its own signals. */
export const feedbackKinds = ['accepted', 'unknown', 'revoked', 'duplicate', 'error', 'identify'] as const;
export const FeedbackKind = z.enum(feedbackKinds);
export type FeedbackKind = z.infer<typeof FeedbackKind>;

export interface Feedback {
  kind: FeedbackKind;
  /** One short line for readers with a display, at most 32 characters. */
  text?: string;
  /** For an accepted punch of someone with a schedule: on time, or late / early by so many minutes. */
  verdict?: { kind: 'on-time' | 'late' | 'early' | 'off-day'; minutes?: number };
}
