import { z } from 'zod';
import { EntityId } from '../punch.js';
import { LocalDate } from './local-time.js';

export const LeaveType = z.enum(['annual', 'sick', 'maternity', 'paternity', 'compensation', 'unpaid', 'other']);
export type LeaveType = z.infer<typeof LeaveType>;

/**
 * Approved leave, whole days from `from` to `to` inclusive, or half a day (`am`: the first half
 * of the shift, `pm`: the second) on one day.
 */
export const LeaveRecord = z
  .object({
    id: z.string().min(1).max(64),
    employeeNumber: EntityId,
    type: LeaveType,
    from: LocalDate,
    to: LocalDate,
    portion: z.enum(['full', 'am', 'pm']).default('full'),
  })
  .strict()
  .superRefine((leave, ctx) => {
    if (leave.to < leave.from) ctx.addIssue({ code: 'custom', path: ['to'], message: 'to must not be before from' });
    if (leave.portion !== 'full' && leave.to !== leave.from) ctx.addIssue({ code: 'custom', path: ['portion'], message: 'a half day (am or pm) covers one day: from and to must be the same' });
  });
export type LeaveRecord = z.output<typeof LeaveRecord>;
export type LeaveRecordInput = z.input<typeof LeaveRecord>;
