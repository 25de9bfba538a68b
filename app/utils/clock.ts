/** Time is injected wherever deadlines or expiries are computed, so tests can move it. */
export type Clock = () => Date;

export const systemClock: Clock = () => new Date();
