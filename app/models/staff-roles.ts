/**
 * The staff roles as people read them — for pages (bundled into the browser, so no schema import here) and emails.
 * The list must match `staffRoles` in db/schema/staff.ts (tests/integration/staff.test.ts checks it).
 */
export const staffRoleList = ["admin", "processor", "auditor"] as const;
export type StaffRoleName = (typeof staffRoleList)[number];

export const staffRoleLabels: Record<StaffRoleName, string> = {
  admin: "Admin — everything, including staff",
  processor: "Processor — works on requests",
  auditor: "Auditor — reads only",
};
